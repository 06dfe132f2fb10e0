"""Run the sandbox's servers on a background event loop, as a context manager with a lifetime bound."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import threading
import time
from pathlib import Path
from typing import Any

from scanner.sandbox.dns_server import DnsResolver, start_dns
from scanner.sandbox.http_server import HttpProtocol
from scanner.sandbox.lookup import LookupService
from scanner.sandbox.rdap import RdapRouter
from scanner.sandbox.sms import SmsGateway
from scanner.sandbox.smtp import CaptureHandler
from scanner.sandbox.web import WebServers
from scanner.sandbox.world import LOOPBACK, World

DEFAULT_LIFETIME_S = 3600.0


class SandboxError(Exception):
    """The sandbox cannot start (a port cannot be bound, a bad address); one line."""


class Sandbox:
    """DNS, web, RDAP, SMTP, SMS-gateway and filing-lookup servers for one world, on loopback only.

    `extra_addresses` get web listeners too (tests use one to record connects that must not happen).
    """

    def __init__(
        self,
        world: World,
        *,
        lifetime_s: float | None = DEFAULT_LIFETIME_S,
        dns_host: str = "127.0.0.1",
        dns_port: int = 0,
        http_port: int = 80,
        https_port: int = 443,
        extra_addresses: tuple[str, ...] = (),
        maildir: str | Path | None = None,
        shared_cert: bool | None = None,
    ) -> None:
        self.world = world
        self.lifetime_s = lifetime_s
        self.dns_host = dns_host
        self.dns_port = dns_port
        self.extra_addresses = extra_addresses
        for address in (dns_host, *extra_addresses):
            if ipaddress.ip_address(address) not in LOOPBACK:
                raise SandboxError(f"{address}: the sandbox only listens on loopback (127.0.0.0/8)")
        shared = shared_cert if shared_cert is not None else len(world.hosts) > 20000
        self.web = WebServers(world, http_port=http_port, https_port=https_port, shared_cert=shared)
        self.rdap = RdapRouter(world)
        self.smtp = CaptureHandler(maildir)
        self.sms = SmsGateway()
        self.sms_port = 0
        self.lookup = LookupService()
        self.lookup_port = 0
        self.dns: DnsResolver | None = None
        self.rdap_port = 0
        self.smtp_port = 0
        self._smtp_server: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._closables: list[Any] = []
        self._started = threading.Event()
        self._error: BaseException | None = None
        self.started_at = 0.0

    # -- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> Sandbox:
        self._thread = threading.Thread(target=self._run, name="sandbox", daemon=True)
        self._thread.start()
        self._started.wait()
        if self._error is not None:
            self._thread.join(5)
            raise SandboxError(str(self._error)) from None
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._start_servers())
        except BaseException as exc:  # reported to start()'s caller
            self._error = exc
            self._started.set()
            self._close_all()
            loop.run_until_complete(asyncio.sleep(0))
            loop.close()
            return
        if self.lifetime_s:
            loop.call_later(self.lifetime_s, loop.stop)
        self.started_at = time.monotonic()
        self._started.set()
        try:
            loop.run_forever()
        finally:
            self._close_all()
            for task in asyncio.all_tasks(loop):
                task.cancel()
            loop.run_until_complete(asyncio.sleep(0.05))
            loop.close()

    async def _start_servers(self) -> None:
        loop = asyncio.get_running_loop()
        self.dns, closables, self.dns_port = await start_dns(self.world, self.dns_host, self.dns_port)
        self._closables.extend(closables)
        addresses = sorted(set(self.world.web_addresses()) | set(self.extra_addresses))
        await self.web.start(addresses)
        self._closables.append(self.web)
        rdap = await loop.create_server(lambda: HttpProtocol(self.rdap, "http"), self.dns_host, 0)
        self.rdap_port = rdap.sockets[0].getsockname()[1]
        self._closables.append(rdap)
        sms = await loop.create_server(lambda: HttpProtocol(self.sms, "http"), self.dns_host, 0)
        self.sms_port = sms.sockets[0].getsockname()[1]
        self._closables.append(sms)
        lookup = await loop.create_server(lambda: HttpProtocol(self.lookup, "http"), self.dns_host, 0)
        self.lookup_port = lookup.sockets[0].getsockname()[1]
        self._closables.append(lookup)
        await self._start_smtp()

    async def _start_smtp(self) -> None:
        from aiosmtpd.smtp import SMTP

        loop = asyncio.get_running_loop()
        smtp = await loop.create_server(
            lambda: SMTP(self.smtp, enable_SMTPUTF8=True, hostname="smtp.sandbox.invalid"),
            self.dns_host, self.smtp_port, reuse_address=True,
        )
        self.smtp_port = smtp.sockets[0].getsockname()[1]
        self._smtp_server = smtp
        self._closables.append(smtp)

    # -- what tests change while the world runs ---------------------------------------------------------
    def set_smtp_available(self, available: bool) -> None:
        """Take the SMTP server down (connections refused) or bring it back on the same port."""
        assert self._loop is not None

        async def change() -> None:
            server = getattr(self, "_smtp_server", None)
            if not available and server is not None:
                server.close()
                await server.wait_closed()
                self._smtp_server = None
            elif available and server is None:
                await self._start_smtp()

        asyncio.run_coroutine_threadsafe(change(), self._loop).result(10)

    def set_page(self, host: str, scheme: str, page: str, status: int = 200) -> None:
        """Replace what a host serves at / over one scheme (a customer fixing or breaking a site)."""
        from scanner.sandbox.world import WebSpec

        entry = self.world.host(host)
        if entry is None:
            raise KeyError(host)
        setattr(entry, scheme, WebSpec(status=status, page=page))
        self.web.router._bodies.clear()

    def _close_all(self) -> None:
        for item in self._closables:
            try:
                item.close()
            except Exception:  # noqa: BLE001 - closing best effort
                pass
        self._closables.clear()

    def stop(self) -> None:
        if self._loop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def wait(self) -> None:
        """Block until the lifetime ends (or stop() is called from elsewhere)."""
        if self._thread is not None:
            while self._thread.is_alive():
                self._thread.join(0.5)

    # -- what clients need -----------------------------------------------------------------------------
    @property
    def nameserver(self) -> str:
        return f"{self.dns_host}:{self.dns_port}"

    @property
    def rdap_url(self) -> str:
        return f"http://{self.dns_host}:{self.rdap_port}"

    @property
    def lookup_url(self) -> str:
        return f"http://{self.dns_host}:{self.lookup_port}"

    @property
    def sms_url(self) -> str:
        return f"http://{self.dns_host}:{self.sms_port}/sms"

    @property
    def smtp_url(self) -> str:
        return f"smtp://{self.dns_host}:{self.smtp_port}"

    @property
    def ca_file(self) -> str:
        """The sandbox CA as a PEM file (temporary, removed when the process exits): `fetch.extra_ca`."""
        if getattr(self, "_ca_file", None) is None:
            import atexit
            import os
            import tempfile

            fd, path = tempfile.mkstemp(prefix="beian-sandbox-ca-", suffix=".pem")
            os.write(fd, self.web.ca.ca_pem())
            os.close(fd)
            atexit.register(lambda: os.path.exists(path) and os.remove(path))
            self._ca_file = path
        return self._ca_file

    def write_ca(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_bytes(self.web.ca.ca_pem())
        return path

    def config(self, database: str | None = None) -> dict:
        """A scanner config (TOML-shaped dict) pointing at this sandbox, merged with the world's hints."""
        hints = json.loads(json.dumps(self.world.scanner))  # deep copy
        data: dict[str, Any] = {}
        if database:
            data["database"] = database
        for section, values in hints.items():
            if isinstance(values, dict):
                data.setdefault(section, {}).update(values)
            else:
                data[section] = values
        data.setdefault("dns", {})["nameservers"] = [self.nameserver]
        data["dns"].setdefault("timeout_s", 2)
        fetch = data.setdefault("fetch", {})
        fetch.setdefault("allow_ranges", ["127.0.0.0/8"])
        fetch.setdefault("only_ranges", ["127.0.0.0/8"])  # never leave loopback, whatever DNS says
        fetch.setdefault("timeout_s", 5)
        fetch.setdefault("extra_ca", self.ca_file)
        ownership = data.setdefault("ownership", {})
        ownership["rdap_url"] = self.rdap_url
        domains = data.setdefault("domains", {})
        domains["rdap_urls"] = {"*": self.rdap_url}  # never a public RDAP server
        domains.setdefault("per_server_per_s", 1000.0)
        if ownership.get("known_networks") and not Path(ownership["known_networks"]).is_absolute():
            ownership["known_networks"] = str((self.world.base_dir / ownership["known_networks"]).resolve())
        data.setdefault("notices", {})["smtp_url"] = self.smtp_url
        return data

    def config_toml(self, database: str | None = None) -> str:
        return to_toml(self.config(database))


def _toml_key(key: str) -> str:
    return key if key and all(c.isascii() and (c.isalnum() or c in "-_") for c in key) else json.dumps(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def to_toml(data: dict) -> str:
    """TOML for our flat config shape: top-level scalars, then one table per section."""
    lines = [f"{k} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    for section, values in data.items():
        if isinstance(values, dict):
            lines.append(f"\n[{section}]")
            lines.extend(f"{k} = {_toml_value(v)}" for k, v in values.items())
    return "\n".join(lines) + "\n"
