"""Authoritative DNS for the world, answering like a recursive resolver (UDP and TCP).

A name with a CNAME gets the whole chain plus the final addresses in one answer, as a recursive
resolver returns it (dnspython raises NoAnswer on a bare CNAME). Names not in the world are NXDOMAIN.
"""

from __future__ import annotations

import asyncio
import struct

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from scanner.sandbox.world import World

_RCODES = {"nxdomain": dns.rcode.NXDOMAIN, "servfail": dns.rcode.SERVFAIL, "refused": dns.rcode.REFUSED}
MAX_CHAIN = 16


class DnsResolver:
    """Builds the answer for a query from the world; shared by the UDP and TCP servers."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.queries = 0

    def answer(self, wire: bytes) -> tuple[bytes | None, float]:
        """(response wire or None to stay silent, delay in seconds)."""
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None, 0.0
        self.queries += 1
        response = dns.message.make_response(query)
        response.flags |= dns.flags.RA
        if not query.question:
            response.set_rcode(dns.rcode.FORMERR)
            return response.to_wire(), 0.0
        question = query.question[0]
        qname, qtype = question.name, question.rdtype
        delay = 0.0
        name = qname.to_text(omit_final_dot=True).lower()
        for _ in range(MAX_CHAIN):
            host = self.world.hosts.get(name)
            if host is None:
                response.set_rcode(dns.rcode.NXDOMAIN)  # also at the end of a dangling CNAME chain
                break
            spec = host.dns
            delay += spec.delay_s
            if spec.drop:
                return None, 0.0
            if spec.rcode:
                response.set_rcode(_RCODES[spec.rcode])
                break
            owner = dns.name.from_text(name)
            if spec.cname:
                response.answer.append(
                    dns.rrset.from_text(owner, spec.ttl, "IN", "CNAME", spec.cname + ".")
                )
                if qtype == dns.rdatatype.CNAME:
                    break
                name = spec.cname
                continue
            values = spec.a if qtype == dns.rdatatype.A else spec.aaaa if qtype == dns.rdatatype.AAAA else ()
            if values:
                response.answer.append(
                    dns.rrset.from_text_list(owner, spec.ttl, "IN", dns.rdatatype.to_text(qtype), list(values))
                )
            break
        response.flags |= dns.flags.AA
        return response.to_wire(), delay


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, resolver: DnsResolver) -> None:
        self.resolver = resolver
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        wire, delay = self.resolver.answer(data)
        if wire is None or self.transport is None:
            return
        if len(wire) > 512:  # truncate: the client retries over TCP
            message = dns.message.from_wire(wire)
            message.answer.clear()
            message.flags |= dns.flags.TC
            wire = message.to_wire()
        if delay:
            asyncio.get_running_loop().call_later(delay, self._send, wire, addr)
        else:
            self._send(wire, addr)

    def _send(self, wire: bytes, addr) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(wire, addr)


async def _handle_tcp(resolver: DnsResolver, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            header = await reader.readexactly(2)
            (length,) = struct.unpack("!H", header)
            wire, delay = resolver.answer(await reader.readexactly(length))
            if wire is None:
                continue
            if delay:
                await asyncio.sleep(delay)
            writer.write(struct.pack("!H", len(wire)) + wire)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def start_dns(world: World, host: str = "127.0.0.1", port: int = 0) -> tuple[DnsResolver, list, int]:
    """Start UDP and TCP on the same port (0 = pick one). Returns (resolver, closables, port)."""
    resolver = DnsResolver(world)
    loop = asyncio.get_running_loop()
    last_error: OSError | None = None
    for _attempt in range(20):
        udp_transport, _ = await loop.create_datagram_endpoint(
            lambda: _UdpProtocol(resolver), local_addr=(host, port)
        )
        chosen = udp_transport.get_extra_info("sockname")[1]
        try:
            tcp_server = await asyncio.start_server(
                lambda r, w: _handle_tcp(resolver, r, w), host, chosen, reuse_address=True
            )
        except OSError as exc:
            udp_transport.close()
            last_error = exc
            if port:
                break
            continue
        return resolver, [udp_transport, tcp_server], chosen
    raise OSError(f"cannot bind DNS on {host}:{port or 'any'}: {last_error}")
