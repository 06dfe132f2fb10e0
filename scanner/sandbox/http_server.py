"""A small HTTP/1.1 server on raw asyncio, with the misbehaviours a crawler must survive.

Not a general web server: GET/HEAD (and a small POST body by Content-Length), keep-alive, and responses that hang, drip, reset, or never end.
The web and RDAP servers both use it with their own router.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_HEADER = 64 * 1024
MAX_BODY = 1024 * 1024
CHUNK = 64 * 1024
REASONS = {
    200: "OK", 204: "No Content", 301: "Moved Permanently", 302: "Found", 303: "See Other",
    307: "Temporary Redirect", 308: "Permanent Redirect", 400: "Bad Request", 403: "Forbidden",
    404: "Not Found", 410: "Gone", 451: "Unavailable For Legal Reasons", 500: "Internal Server Error",
    502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
}


@dataclass(slots=True)
class Request:
    method: str
    target: str
    version: str
    headers: dict[str, str]
    scheme: str
    local: tuple[str, int]
    peer: tuple[str, int]
    sni: str | None = None
    body: bytes = b""  # a request body of Content-Length bytes (the SMS gateway's webhook is a POST)

    @property
    def host(self) -> str:
        value = self.headers.get("host") or self.sni or ""
        if value.startswith("["):
            return value.split("]")[0][1:]
        return value.rsplit(":", 1)[0].lower().rstrip(".") if ":" in value else value.lower().rstrip(".")

    @property
    def path(self) -> str:
        target = self.target
        if "://" in target:  # absolute-form
            target = "/" + target.split("://", 1)[1].partition("/")[2]
        return target.split("?", 1)[0].split("#", 1)[0] or "/"


@dataclass(slots=True)
class Response:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    behaviour: str = "normal"  # normal | hang | drip | reset | huge
    drip_interval_s: float = 1.0
    huge_bytes: int = 0
    declare_length: bool = True


Router = Callable[[Request], Response]


class HttpProtocol(asyncio.Protocol):
    def __init__(self, router: Router, scheme: str, log: deque | None = None) -> None:
        self.router = router
        self.scheme = scheme
        self.log = log
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.busy = False
        self.paused = False
        self._resume: asyncio.Future | None = None

    # -- asyncio callbacks -------------------------------------------------------------------------
    def connection_made(self, transport) -> None:
        self.transport = transport

    def connection_lost(self, exc) -> None:
        self.transport = None
        if self._resume and not self._resume.done():
            self._resume.set_result(None)

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        if self._resume and not self._resume.done():
            self._resume.set_result(None)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > MAX_HEADER and b"\r\n\r\n" not in self.buffer:
            self._close()
            return
        if not self.busy:
            self._next()

    # -- requests -------------------------------------------------------------------------------------
    def _next(self) -> None:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.transport is None:
            return
        head = bytes(self.buffer[:end]).decode("latin-1")
        declared = next((line.split(":", 1)[1].strip() for line in head.split("\r\n")[1:]
                         if line.lower().startswith("content-length:")), "0")
        size = int(declared) if declared.isdigit() and int(declared) <= MAX_BODY else -1
        if size < 0:
            self._close()
            return
        if len(self.buffer) < end + 4 + size:
            return  # the body is still arriving
        body = bytes(self.buffer[end + 4 : end + 4 + size])
        del self.buffer[: end + 4 + size]
        lines = head.split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3:
            self._close()
            return
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        ssl_object = self.transport.get_extra_info("ssl_object")
        request = Request(
            method=parts[0].upper(),
            target=parts[1],
            version=parts[2],
            headers=headers,
            scheme=self.scheme,
            local=self.transport.get_extra_info("sockname")[:2],
            peer=self.transport.get_extra_info("peername")[:2],
            sni=getattr(ssl_object, "sandbox_sni", None) if ssl_object else None,
            body=body,
        )
        if self.log is not None:
            self.log.append(request)
        try:
            response = self.router(request)
        except Exception as exc:  # a bad world entry must not kill the server
            response = Response(500, [("Content-Type", "text/plain")], f"sandbox error: {exc}".encode())
        keep_alive = request.version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        self.busy = True
        asyncio.get_running_loop().create_task(self._respond(request, response, keep_alive))

    async def _respond(self, request: Request, response: Response, keep_alive: bool) -> None:
        try:
            if response.behaviour == "reset":
                self._reset()
                return
            if response.behaviour == "hang":
                return  # say nothing; the client's timeout or our lifetime ends it
            body = b"" if request.method == "HEAD" else response.body
            length = response.huge_bytes if response.behaviour == "huge" else len(response.body)
            if response.behaviour == "drip":
                keep_alive = False
            head = [f"HTTP/1.1 {response.status} {REASONS.get(response.status, 'Status')}"]
            names = {name.lower() for name, _ in response.headers}
            head += [f"{name}: {value}" for name, value in response.headers]
            if response.declare_length and "content-length" not in names:
                head.append(f"Content-Length: {length}")
            elif not response.declare_length:
                keep_alive = False
            head.append("Connection: keep-alive" if keep_alive else "Connection: close")
            self._write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
            if request.method == "HEAD":
                pass
            elif response.behaviour == "drip":
                for i in range(len(body)):
                    if self.transport is None:
                        return
                    self._write(body[i : i + 1])
                    await asyncio.sleep(response.drip_interval_s)
            elif response.behaviour == "huge":
                await self._stream_huge(response.huge_bytes, body)
            else:
                self._write(body)
            if not keep_alive:
                self._close()
                return
        finally:
            self.busy = False
        if self.buffer:
            self._next()

    async def _stream_huge(self, size: int, prefix: bytes) -> None:
        filler = (prefix + b"<p>" + b"x" * CHUNK)[:CHUNK]
        sent = 0
        while sent < size and self.transport is not None:
            if self.paused:
                self._resume = asyncio.get_running_loop().create_future()
                await self._resume
                continue
            piece = filler[: min(CHUNK, size - sent)]
            self._write(piece)
            sent += len(piece)
            await asyncio.sleep(0)

    def _write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def _close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def _reset(self) -> None:
        if self.transport is None:
            return
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
        self.transport.abort()
