"""The domain.*, site.tls_invalid and filing.psb_missing checks on typed inputs, judged the way a scan judges
them (needs, per-domain root-cause order, could-not-check), and the facts they read (certificates, RDAP
answers, registrable domains). No network."""

from __future__ import annotations

import datetime as dt

import pytest
import trustme

import checks
from core.config import parse_config
from core.observation import (
    REG_OK,
    REG_RATE_LIMITED,
    REG_TIMEOUT,
    Certificate,
    DnsRecord,
    Fetch,
    Observation,
    Registration,
    dump,
    load,
)
from core.statuses import FAILED, NOT_CHECKED, PASSED
from scanner.cases import in_notices
from scanner.sandbox.rdap import domain_object
from spiders.registration import from_rdap, registrable
from spiders.tls import TrustStore, describe, host_matches
from tests.builders import page_observation, record

AT = "2026-12-01T10:00:00+00:00"


def reg(domain: str, **fields) -> Registration:
    base = {"registered": "2016-03-01T00:00:00+00:00", "expires": "2028-03-01T00:00:00+00:00",
            "registrar": "阿里云计算有限公司", "registrant": "北京示例科技有限公司", "registrant_kind": "org",
            "filed": [domain]}
    base.update(fields)
    return Registration(domain, **base)


def obs_with(*registrations: Registration, dns: dict | None = None, page: bool = True) -> Observation:
    obs = page_observation('<footer>京ICP备10000000号-1 京公网安备 11010802039999号</footer>') if page else Observation("example.cn")
    obs.at = AT
    obs.domains = {r.domain: r for r in registrations}
    obs.dns = dns or {name: DnsRecord(addresses=["127.10.0.1"]) for r in registrations for name in r.filed}
    return obs


def outcome(code: str, obs: Observation, site=None):
    site = site or record(domains=sorted({n for r in (obs.domains or {}).values() for n in r.filed}) or ["example.cn"])
    return next((o for o in checks.evaluate(obs, site) if o.code == code), None)


# -- root cause order, per domain ---------------------------------------------------------------------------
def test_expired_domain_is_the_root_cause_of_its_dns_failure_only():
    dead = {"outcome": "nxdomain"}
    obs = obs_with(reg("gone.cn", expires="2026-11-11T00:00:00+00:00"), reg("other.cn"), page=False,
                   dns={"gone.cn": DnsRecord(**dead), "other.cn": DnsRecord(**dead)})
    obs.fetch = Fetch("not_fetched", failure="dns", reason="dns: nxdomain")
    site = record(domains=["gone.cn", "other.cn"], homepage_host="gone.cn")
    expired = outcome("domain.expired", obs, site)
    assert expired.state == FAILED and [f.domain for f in expired.findings] == ["gone.cn"]
    assert expired.findings[0].evidence["expires"].startswith("2026-11-11")
    assert expired.findings[0].evidence["dns"] == {"gone.cn": "nxdomain"}
    unresolved = outcome("access.dns_unresolved", obs, site)
    assert unresolved.state == FAILED and [f.domain for f in unresolved.findings] == ["other.cn"]


def test_dns_failure_is_reported_when_the_registration_could_not_be_looked_up_or_is_off():
    dead = DnsRecord(outcome="nxdomain")
    obs = obs_with(Registration("gone.cn", REG_TIMEOUT, reason="RDAP timed out", filed=["gone.cn"]), page=False,
                   dns={"gone.cn": dead})
    obs.fetch = Fetch("not_fetched", failure="dns")
    site = record(domains=["gone.cn"], homepage_host="gone.cn")
    assert outcome("domain.expired", obs, site).state == NOT_CHECKED
    assert outcome("access.dns_unresolved", obs, site).state == FAILED
    obs.domains = None  # [domains] off
    assert outcome("domain.expired", obs, site) is None  # not applicable: left out
    assert outcome("access.dns_unresolved", obs, site).state == FAILED


def test_the_old_dns_finding_closes_when_expiry_becomes_its_root_cause():
    obs = obs_with(reg("gone.cn", expires="2026-11-11T00:00:00+00:00"), page=False, dns={"gone.cn": DnsRecord(outcome="nxdomain")})
    obs.fetch = Fetch("not_fetched", failure="dns")
    unresolved = outcome("access.dns_unresolved", obs, record(domains=["gone.cn"], homepage_host="gone.cn"))
    assert unresolved.state == PASSED and "gone.cn" in unresolved.reason


# -- dates -------------------------------------------------------------------------------------------------
def test_expiring_within_the_configured_days():
    obs = obs_with(reg("soon.cn", expires="2027-01-10T00:00:00+00:00"))
    assert outcome("domain.expiring", obs).state == FAILED
    assert outcome("domain.expiring", obs, record(domains=["soon.cn"], expiry_warn_days=30)).state == PASSED
    assert outcome("domain.expired", obs).state == PASSED
    obs.domains["soon.cn"].expires = None
    assert outcome("domain.expiring", obs).state == NOT_CHECKED


def test_reregistered_after_approval_or_after_first_seen():
    obs = obs_with(reg("reborn.cn", registered="2026-10-01T00:00:00+00:00"))
    assert outcome("domain.reregistered", obs, record(domains=["reborn.cn"], approved_at="2019-05-01")).state == FAILED
    assert outcome("domain.reregistered", obs, record(domains=["reborn.cn"], approved_at="2026-10-20")).state == PASSED
    seen_before = record(domains=["reborn.cn"], first_seen="2025-01-01T00:00:00+00:00")
    assert outcome("domain.reregistered", obs, seen_before).state == FAILED
    seen_after = record(domains=["reborn.cn"], first_seen="2026-11-30T00:00:00+00:00")
    assert outcome("domain.reregistered", obs, seen_after).state == PASSED
    assert outcome("domain.reregistered", obs, record(domains=["reborn.cn"])).state == NOT_CHECKED


# -- holder ------------------------------------------------------------------------------------------------
def test_holder_names_are_compared_normalised():
    same = obs_with(reg("a.cn", registrant="北京示例科技 有限公司"))
    assert outcome("domain.holder_mismatch", same).state == PASSED
    other = obs_with(reg("a.cn", registrant="上海某某贸易有限公司"))
    found = outcome("domain.holder_mismatch", other)
    assert found.state == FAILED and "上海某某贸易有限公司" in found.findings[0].summary


def test_redacted_absent_or_latin_registrant_could_not_be_checked():
    for registration in (reg("a.cn", registrant="", redacted=["Registrant Name"]), reg("a.cn", registrant=""),
                         reg("a.cn", registrant="Beijing Example Technology Co., Ltd.")):
        result = outcome("domain.holder_mismatch", obs_with(registration))
        assert result.state == NOT_CHECKED, registration


def test_a_units_domain_on_a_personal_filing():
    personal = record(domains=["xm.cn"], subject_name="王小明", nature="个人")
    assert outcome("domain.holder_mismatch", obs_with(reg("xm.cn", registrant="王小明", registrant_kind="individual")),
                   personal).state == PASSED
    unit = outcome("domain.holder_mismatch", obs_with(reg("xm.cn", registrant="王小明", registrant_kind="org")), personal)
    assert unit.state == FAILED and "个人备案" in unit.findings[0].summary


# -- registrar ---------------------------------------------------------------------------------------------
def test_registrar_approved_by_name_alias_or_iana_id():
    for registration in (reg("a.com", registrar="Alibaba Cloud Computing (Beijing) Co., Ltd."),
                         reg("a.com", registrar="Some Name", registrar_id="420"), reg("a.com", registrar="西部数码")):
        assert outcome("domain.registrar_unapproved", obs_with(registration)).state == PASSED, registration
    found = outcome("domain.registrar_unapproved", obs_with(reg("a.com", registrar="NameCheap, Inc.", registrar_id="1068")))
    assert found.state == FAILED and "NameCheap" in found.findings[0].summary
    assert outcome("domain.registrar_unapproved", obs_with(reg("a.com", registrar=""))).state == NOT_CHECKED


def test_rate_limited_lookup_is_could_not_check_never_a_finding():
    obs = obs_with(Registration("busy.cn", REG_RATE_LIMITED, reason="HTTP 429", filed=["busy.cn"]))
    for code in ("domain.expired", "domain.expiring", "domain.reregistered", "domain.holder_mismatch",
                 "domain.registrar_unapproved"):
        result = outcome(code, obs, record(domains=["busy.cn"], approved_at="2019-01-01"))
        assert result.state == NOT_CHECKED and "429" in result.reason, code


def test_registrations_survive_dump_and_load():
    obs = obs_with(reg("a.cn", redacted=["Registrant Name"], cached=True))
    obs.tls = {"a.cn": Certificate("a.cn", issuer="CN=x", sans=["a.cn"], self_signed=True)}
    again = load(dump(obs))
    assert again.domains == obs.domains and again.tls == obs.tls and again.at == AT


# -- RDAP answers ------------------------------------------------------------------------------------------
def test_registrable_domain_from_the_bundled_suffix_list():
    assert registrable("www.example.com.cn") == "example.com.cn"
    assert registrable("a.b.example.cn") == "example.cn"
    assert registrable("示例.中国") == "示例.中国"
    assert registrable("localhost") is None


def test_rdap_domain_object_is_read_by_whoisits_parser():
    data = domain_object("example.cn", {"registered": "2016-03-01", "expires": "2028-03-01", "last_changed": "2026-01-02",
                                        "registrar": "阿里云计算有限公司", "registrar_id": "420",
                                        "registrant": "北京示例科技有限公司", "kind": "org"})
    found = from_rdap("example.cn", data, "http://rdap.test")
    assert found.state == REG_OK and found.registered.startswith("2016-03-01") and found.expires.startswith("2028-03-01")
    assert (found.registrar, found.registrar_id, found.registrant, found.registrant_kind) == (
        "阿里云计算有限公司", "420", "北京示例科技有限公司", "org")
    hidden = from_rdap("example.cn", domain_object("example.cn", {"registrar": "x", "redacted": True}), "http://rdap.test")
    assert hidden.registrant == "" and hidden.redacted == ["Registrant Name"]
    privacy = domain_object("example.cn", {"registrant": "REDACTED FOR PRIVACY"})
    assert from_rdap("example.cn", privacy, "http://rdap.test").registrant == ""


# -- certificates ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    authority = trustme.CA()
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    authority.cert_pem.write_to_path(str(path))
    return authority, TrustStore(str(path))


def _leaf(authority, *names, **dates):
    from cryptography import x509

    return x509.load_pem_x509_certificate(authority.issue_cert(*names, **dates).cert_chain_pems[0].bytes())


def test_certificate_facts(ca):
    authority, trust = ca
    good = describe(_leaf(authority, "example.cn"), "example.cn", trust)
    assert good.trusted and good.host_matches and not good.self_signed and good.sans == ["example.cn"]
    assert not describe(_leaf(authority, "example.cn"), "example.cn", TrustStore()).trusted  # certifi alone
    assert not describe(_leaf(authority, "other.cn"), "example.cn", trust).host_matches
    from cryptography import x509

    root = x509.load_pem_x509_certificate(authority.cert_pem.bytes())
    own = describe(root, "example.cn", TrustStore())
    assert own.self_signed and not own.trusted


def test_wildcards_cover_one_label():
    assert host_matches("www.example.cn", ["*.example.cn"])
    assert not host_matches("example.cn", ["*.example.cn"]) and not host_matches("a.b.example.cn", ["*.example.cn"])


def test_tls_invalid_on_the_certificates_facts():
    obs = page_observation('<footer>京ICP备10000000号-1</footer>')
    obs.at = AT
    site = record()
    obs.tls = {"example.cn": Certificate("example.cn", not_before="2026-01-01T00:00:00+00:00",
                                         not_after="2027-01-01T00:00:00+00:00", sans=["example.cn"], trusted=True)}
    assert outcome("site.tls_invalid", obs, site).state == PASSED
    cert = obs.tls["example.cn"]
    for change, words in ((dict(not_after="2026-11-01T00:00:00+00:00"), "过期"),
                          (dict(not_before="2026-12-24T00:00:00+00:00"), "才生效"),
                          (dict(self_signed=True, trusted=False), "自签名"), (dict(host_matches=False), "不包含域名")):
        obs.tls = {"example.cn": Certificate(**{**cert.__dict__, **change})}
        found = outcome("site.tls_invalid", obs, site)
        assert found.state == FAILED and words in found.findings[0].summary, change
        assert found.findings[0].evidence["issuer"] == "" or "issuer" in found.findings[0].evidence
    obs.tls = {"example.cn": Certificate(**{**cert.__dict__, "self_signed": True, "trusted": True})}
    assert outcome("site.tls_invalid", obs, site).state == PASSED  # a self-signed CA the operator trusts


# -- 公网安备 --------------------------------------------------------------------------------------------
def test_psb_missing_only_when_the_icp_number_is_shown():
    obs = page_observation('<footer><a href="https://beian.miit.gov.cn/">京ICP备10000000号-1</a></footer>')
    assert outcome("filing.psb_missing", obs).state == FAILED
    obs = page_observation('<footer><p>© 北京示例科技有限公司</p></footer>')
    assert outcome("filing.psb_missing", obs) is None  # filing.number_missing is the root cause


def test_informational_codes_are_kept_out_of_notices_unless_included():
    assert not in_notices(parse_config({}), "filing.psb_missing")
    assert in_notices(parse_config({"notices": {"include_codes": ["filing.psb_missing"]}}), "filing.psb_missing")
    assert in_notices(parse_config({}), "domain.expired")
    assert not in_notices(parse_config({"notices": {"exclude_codes": ["domain.expiring"]}}), "domain.expiring")


def test_observation_time_not_the_wall_clock_decides(monkeypatch):
    obs = obs_with(reg("a.cn", expires="2026-12-20T00:00:00+00:00"))
    monkeypatch.setenv("BEIAN_NOW", "2030-01-01T00:00:00+08:00")
    assert outcome("domain.expired", obs).state == PASSED  # it had not expired when the crawl looked
    obs.at = (dt.datetime(2026, 12, 21, tzinfo=dt.UTC)).isoformat()
    assert outcome("domain.expired", obs).state == FAILED


def test_an_unreadable_extra_ca_is_a_one_line_error(tmp_path):
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate", encoding="utf-8")
    for path in (str(bad), str(tmp_path / "missing.pem")):
        with pytest.raises(ValueError) as info:
            TrustStore(path)
        assert str(info.value).startswith(f"fetch.extra_ca: cannot read {path}") and "\n" not in str(info.value)
