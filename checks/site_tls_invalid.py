"""site.tls_invalid: the homepage's https answer came with a certificate a browser warns about: expired,
not yet valid, self-signed (and not a CA we were told to trust), or not for this host name.

The certificate is the one the crawl's own https connection received (spiders/tls.py), judged at the
moment of the crawl; trusted CAs are certifi's and `[fetch] extra_ca` (the sandbox CA). Seed 001 has no
TLS rule; this is a warning for the customer (visitors see a browser warning), not an MIIT violation.
"""

from __future__ import annotations

from checks.domain import observed_at, parse_time
from checks.framework import WARNING, Field, Finding, Needs, check
from core.observation import Observation, plain
from core.records import SiteRecord


@check(
    code="site.tls_invalid",
    severity=WARNING,
    title="网站 HTTPS 证书无效",
    rule="网站通过 HTTPS 提供访问时，应使用由受信任机构签发、在有效期内且与域名一致的证书，否则访问者的浏览器会提示不安全。",
    remediation="请为该域名更换由受信任的证书颁发机构签发、在有效期内、且包含该域名的 SSL 证书（证书过期请及时续期），并在服务器上正确部署证书链。",
    doc="https answers with an expired, not-yet-valid, self-signed or wrong-host certificate (visitors see a browser warning); evidence: issuer, subject, SANs, validity",
    needs=Needs.FETCH,
    after=("site.unreachable",),
    notice_field="网站首页",
    notice_field_lists=Field.HOMEPAGE,
)
def tls_invalid(obs: Observation, record: SiteRecord):
    now = observed_at(obs)
    found = []
    for host, cert in sorted(obs.tls.items()):
        if cert.error:
            continue  # unreadable: nothing a visitor's browser would say we can vouch for
        problems = []
        not_before, not_after = parse_time(cert.not_before), parse_time(cert.not_after)
        if now is not None and not_after is not None and not_after < now:
            problems.append(f"已于 {not_after.date().isoformat()} 过期")
        if now is not None and not_before is not None and not_before > now:
            problems.append(f"{not_before.date().isoformat()} 才生效")
        if cert.self_signed and not cert.trusted:
            problems.append("为自签名证书")
        if not cert.host_matches:
            problems.append(f"不包含域名 {host}")
        if problems:
            found.append(Finding(f"{host} 的证书" + "、".join(problems), {**plain(cert), "problems": problems,
                                 "observed_at": obs.at}, domain=host))
    return found or None
