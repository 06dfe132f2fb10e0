"""The world's websites: HTTP on port 80 and HTTPS on 443 of each loopback address the world uses.

One listener pair per address, whatever the number of sites: requests are routed by the Host header
and, for TLS, by SNI. Certificates come from a sandbox CA, issued lazily per host name.
"""

from __future__ import annotations

import asyncio
import gzip
import ssl
from collections import Counter, OrderedDict, deque
from functools import lru_cache

import jinja2
import trustme

from scanner.sandbox.http_server import HttpProtocol, Request, Response
from scanner.sandbox.world import Host, WebSpec, World, ascii_name

CERT_CACHE = 4096


@lru_cache(maxsize=4)
def gzip_bomb(size: int) -> bytes:
    """`size` bytes of HTML-ish zeros, gzip-compressed to about size/1000."""
    compressor = gzip.compress
    block = b"<html><body>" + b"0" * (1024 * 1024)
    whole = block * max(1, size // len(block))
    return compressor(whole, compresslevel=9)


class WebRouter:
    def __init__(self, world: World) -> None:
        self.world = world
        self.env = jinja2.Environment(autoescape=False, undefined=jinja2.ChainableUndefined)
        self._templates = {name: self.env.from_string(text) for name, text in world.templates.items()}
        self._bodies: OrderedDict[tuple, bytes] = OrderedDict()

    def spec_for(self, host: Host, scheme: str, path: str) -> WebSpec | None:
        spec = host.http if scheme == "http" else host.https
        if spec is None:
            return None
        if path in spec.paths:
            return spec.paths[path]
        if path in ("/", "", "/index.html", "/index.htm", "/index.php"):
            return spec
        return WebSpec(status=404, page="<html><head><title>404 Not Found</title></head><body>404</body></html>")

    def __call__(self, request: Request) -> Response:
        host = self.world.host(ascii_name(request.host)) if request.host else None
        if host is None:
            return Response(behaviour="reset")
        spec = self.spec_for(host, request.scheme, request.path)
        if spec is None:
            return Response(behaviour="reset")
        return self.render(host, request.scheme, request.path, spec)

    def body(self, host: Host, scheme: str, path: str, spec: WebSpec) -> bytes:
        key = (host.name, scheme, path)
        cached = self._bodies.get(key)
        if cached is not None:
            self._bodies.move_to_end(key)
            return cached
        if spec.template:
            context = {"host": host.name, "scheme": scheme, **spec.vars}
            text = self._templates[spec.template].render(**context)
        elif spec.file:
            raw = (self.world.base_dir / spec.file).read_bytes()
            text = None
            data = raw
        else:
            text = spec.page or ""
        if text is not None:
            data = text.encode(spec.charset, errors="xmlcharrefreplace")
        self._bodies[key] = data
        if len(self._bodies) > 2048:
            self._bodies.popitem(last=False)
        return data

    def render(self, host: Host, scheme: str, path: str, spec: WebSpec) -> Response:
        headers: list[tuple[str, str]] = []
        content_type = spec.content_type if spec.content_type is not None else f"text/html; charset={spec.charset}"
        if content_type:
            headers.append(("Content-Type", content_type))
        headers.append(("Server", "sandbox"))
        if spec.redirect:
            headers.append(("Location", spec.redirect))
        headers.extend(spec.headers.items())
        if spec.behaviour == "gzip_bomb":
            headers.append(("Content-Encoding", "gzip"))
            return Response(spec.status, headers, gzip_bomb(spec.huge_bytes), declare_length=spec.declare_length)
        body = b"" if spec.redirect and not (spec.page or spec.template or spec.file) else self.body(host, scheme, path, spec)
        if spec.gzip:
            body = gzip.compress(body)
            headers.append(("Content-Encoding", "gzip"))
        return Response(
            status=spec.status,
            headers=headers,
            body=body,
            behaviour=spec.behaviour,
            drip_interval_s=spec.drip_interval_s,
            huge_bytes=spec.huge_bytes,
            declare_length=spec.declare_length,
        )


class CertificateAuthority:
    """Sandbox CA; per-host certificates (or one shared certificate for very large worlds)."""

    def __init__(self, world: World, shared: bool = False) -> None:
        self.world = world
        self.ca = trustme.CA(key_type=trustme.KeyType.ECDSA, organization_name="beian-scanner sandbox CA")
        self.shared = shared
        self._contexts: OrderedDict[str, ssl.SSLContext] = OrderedDict()
        self.default = self._context("sandbox.invalid")
        self.default.sni_callback = self._sni

    def ca_pem(self) -> bytes:
        return self.ca.cert_pem.bytes()

    def _context(self, name: str, kind: str = "valid") -> ssl.SSLContext:
        """A server context for `name` whose certificate is `kind` (world.TLS_KINDS)."""
        import datetime as dt

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        now = dt.datetime.now(dt.UTC)
        if kind == "expired":
            leaf = self.ca.issue_cert(name, not_before=now - dt.timedelta(days=400), not_after=now - dt.timedelta(days=30))
        elif kind == "not_yet_valid":
            leaf = self.ca.issue_cert(name, not_before=now + dt.timedelta(days=30), not_after=now + dt.timedelta(days=400))
        elif kind == "wrong_host":
            leaf = self.ca.issue_cert(f"other-host.{name}", f"www.other-host.{name}")
        elif kind == "self_signed":
            _load_self_signed(context, name)  # issuer = subject, signed by its own key
            return context
        else:
            leaf = self.ca.issue_cert(name)
        leaf.configure_cert(context)
        return context

    def context_for(self, name: str) -> ssl.SSLContext:
        if self.shared:
            return self.default
        context = self._contexts.get(name)
        if context is None:
            host = self.world.host(name)
            context = self._context(name, host.https.tls if host is not None and host.https is not None else "valid")
            self._contexts[name] = context
            if len(self._contexts) > CERT_CACHE:
                self._contexts.popitem(last=False)
        else:
            self._contexts.move_to_end(name)
        return context

    def _sni(self, ssl_object: ssl.SSLObject, server_name: str | None, _context) -> int | None:
        if not server_name:
            return None  # by IP: the default certificate
        name = ascii_name(server_name)
        host = self.world.host(name)
        if host is None or host.https is None:
            return ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME
        ssl_object.sandbox_sni = name  # type: ignore[attr-defined]
        ssl_object.context = self.context_for(name)
        return None


class WebServers:
    """Listeners on :80 and :443 of every loopback address the world's websites use."""

    def __init__(self, world: World, *, http_port: int = 80, https_port: int = 443, shared_cert: bool = False):
        self.world = world
        self.router = WebRouter(world)
        self.ca = CertificateAuthority(world, shared=shared_cert)
        self.http_port = http_port
        self.https_port = https_port
        self.requests: deque[Request] = deque(maxlen=10000)
        self.connects: Counter[tuple[str, int]] = Counter()
        self.servers: list[asyncio.base_events.Server] = []

    def _factory(self, scheme: str, address: str, port: int):
        def make() -> HttpProtocol:
            self.connects[(address, port)] += 1
            return HttpProtocol(self.router, scheme, self.requests)

        return make

    async def start(self, addresses: list[str]) -> None:
        loop = asyncio.get_running_loop()
        for address in addresses:
            for scheme, port, context in (("http", self.http_port, None), ("https", self.https_port, self.ca.default)):
                extra = {"ssl": context, "ssl_handshake_timeout": 10} if context else {}
                try:
                    server = await loop.create_server(
                        self._factory(scheme, address, port), address, port, reuse_address=True, backlog=4096, **extra
                    )
                except OSError as exc:
                    raise OSError(
                        f"cannot listen on {address}:{port} ({exc.strerror}); the sandbox needs ports 80 and 443 "
                        "on loopback: run as root, or grant CAP_NET_BIND_SERVICE, or free the port"
                    ) from None
                self.servers.append(server)

    def close(self) -> None:
        for server in self.servers:
            server.close()


def _load_self_signed(context: ssl.SSLContext, name: str) -> None:
    """Load a fresh self-signed certificate for `name` into a server context."""
    import datetime as dt
    import os
    import tempfile

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd, path = tempfile.mkstemp(suffix=".pem")
    try:
        os.write(fd, pem)
        os.close(fd)
        context.load_cert_chain(path)
    finally:
        os.remove(path)
