"""The facts of the certificate an https answer presented, for site.tls_invalid.

Read from the crawl's own connection (Scrapy's `response.certificate`, the peer certificate of the Twisted
TLS transport): no second connection. The crawl itself accepts any certificate (it must see the page a
visitor would see past the warning); this module says what a browser would object to: the validity
period, whether it is self-signed, whether a SAN covers the host, and whether a trusted CA (certifi's
roots, plus `[fetch] extra_ca`) signed it directly. Only the leaf is on hand, so a leaf issued through an
intermediate is "not directly trusted" — which is why the check judges the leaf's own facts, not that.
"""

from __future__ import annotations

import warnings
from collections import OrderedDict
from dataclasses import replace
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import ExtensionOID, NameOID

from core.config import Config
from core.observation import Certificate


class TrustStore:
    """CA certificates by subject: certifi's bundle and the operator's extra CA file."""

    def __init__(self, extra_ca: str = "") -> None:
        import certifi

        self.by_subject: dict[bytes, list[x509.Certificate]] = {}
        self.fingerprints: set[bytes] = set()
        for path in (certifi.where(), extra_ca):
            if not path:
                continue
            try:
                with warnings.catch_warnings():  # certifi holds a root with a non-positive serial
                    warnings.simplefilter("ignore")
                    certs = x509.load_pem_x509_certificates(Path(path).read_bytes())
            except (OSError, ValueError) as exc:
                raise ValueError(f"fetch.extra_ca: cannot read {path}: {exc}") from None
            for cert in certs:
                self.by_subject.setdefault(cert.subject.public_bytes(), []).append(cert)
                self.fingerprints.add(cert.fingerprint(cert.signature_hash_algorithm or _sha256()))

    @classmethod
    def from_config(cls, config: Config) -> TrustStore:
        return cls(config.fetch.extra_ca)

    def trusts(self, cert: x509.Certificate) -> bool:
        """It is one of the CAs, or one of them signed it directly."""
        try:
            if cert.fingerprint(cert.signature_hash_algorithm or _sha256()) in self.fingerprints:
                return True
        except Exception:  # noqa: BLE001 - an unusual hash algorithm: judge by the issuer below
            pass
        for issuer in self.by_subject.get(cert.issuer.public_bytes(), []):
            if _signed_by(cert, issuer):
                return True
        return False


def _sha256():
    from cryptography.hazmat.primitives import hashes

    return hashes.SHA256()


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
        return True
    except Exception:  # noqa: BLE001 - wrong key, wrong name, unsupported algorithm: not signed by it
        return False


def _name(name: x509.Name) -> str:
    return name.rfc4514_string()[:300]


def sans_of(cert: x509.Certificate) -> list[str]:
    try:
        ext = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    except x509.ExtensionNotFound:
        return []
    return [str(n).lower() for n in ext.value.get_values_for_type(x509.DNSName)]


def host_matches(host: str, names: list[str]) -> bool:
    """RFC 6125: an exact name, or a wildcard for exactly one leftmost label."""
    host = host.lower().rstrip(".")
    for name in names:
        name = name.lower().rstrip(".")
        if name == host:
            return True
        if name.startswith("*.") and "." in host and host.split(".", 1)[1] == name[2:]:
            return True
    return False


def describe(cert: x509.Certificate, host: str, trust: TrustStore | None) -> Certificate:
    return _with_host(_facts(cert, trust), host)


def _facts(cert: x509.Certificate, trust: TrustStore | None) -> tuple[Certificate, list[str]]:
    """What does not depend on the host asked for: the certificate, and the names it covers."""
    sans = sans_of(cert)
    names = sans or [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME) if isinstance(a.value, str)]
    self_signed = cert.issuer == cert.subject and _signed_by(cert, cert)
    facts = Certificate(
        host="", subject=_name(cert.subject), issuer=_name(cert.issuer), sans=sans[:20],
        not_before=cert.not_valid_before_utc.isoformat(), not_after=cert.not_valid_after_utc.isoformat(),
        self_signed=self_signed, trusted=trust.trusts(cert) if trust is not None else False,
    )
    return facts, names


def _with_host(facts: tuple[Certificate, list[str]], host: str) -> Certificate:
    certificate, names = facts
    return replace(certificate, host=host, host_matches=host_matches(host, names), sans=list(certificate.sans))


class _Seen:
    """The facts of recently seen certificates by their DER bytes: one shared (wildcard, hosting) certificate
    is parsed and its signatures checked once, not on every site that presents it."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self.items: OrderedDict[tuple[bytes, int], tuple[Certificate, list[str]]] = OrderedDict()

    def facts(self, der: bytes, trust: TrustStore | None) -> tuple[Certificate, list[str]]:
        key = (der, id(trust))
        found = self.items.get(key)
        if found is None:
            found = self.items[key] = _facts(x509.load_der_x509_certificate(der), trust)
            if len(self.items) > self.size:
                self.items.popitem(last=False)
        else:
            self.items.move_to_end(key)
        return found


_SEEN = _Seen()


def from_response(response, host: str, trust: TrustStore | None) -> Certificate | None:
    """The facts of the certificate a Scrapy response came over, or None (plain http, or none exposed)."""
    peer = getattr(response, "certificate", None)
    if peer is None:
        return None
    try:
        return _with_host(_SEEN.facts(peer.dump(), trust), host)
    except Exception as exc:  # noqa: BLE001 - an unreadable certificate is recorded with its reason
        return Certificate(host=host, error=f"{type(exc).__name__}: {exc}"[:300])
