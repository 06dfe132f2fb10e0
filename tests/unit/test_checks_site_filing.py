"""site.*, filing.* and access.* checks on recorded observations (no network), and the root-cause rules."""

from __future__ import annotations

from checks import evaluate
from core.observation import Observation, load
from core.records import SiteRecord
from core.statuses import FAILED, NOT_CHECKED, PASSED
from spiders.page import extract

RECORD = SiteRecord(
    website_id=1, website_number="京ICP备10206937号-1", website_name="示例科技官网", status="已备案",
    domains=["example.cn", "example.com.cn"], homepage_host="example.cn", subject_number="京ICP备10206937号",
    subject_name="北京示例科技有限公司", nature="企业", province="北京市",
)
BODY = "<p>" + "我们提供企业软件开发与技术咨询服务。" * 30 + "</p><p>京公网安备 11010802030000号</p>"  # filing.psb_missing passes
OK_DNS = {"outcome": "ok", "chain": [], "addresses": ["203.0.113.5"],
          "owners": [{"address": "203.0.113.5", "kind": "provider", "owner": "示例云"}]}


def obs(footer: str | None = None, *, fetch: dict | None = None, dns: dict | None = None, html: str | None = None) -> Observation:
    data = {"homepage": "example.cn", "dns": dns or {"example.cn": OK_DNS, "example.com.cn": OK_DNS}}
    if fetch is None:
        page = extract(html or f"<html><body><h1>示例</h1>{BODY}<footer>{footer}</footer></body></html>", "https://example.cn/")
        data["fetch"] = {"state": "page", "final_url": "https://example.cn/", "status": 200, "attempts": []}
        data["page"] = page
    else:
        data["fetch"] = fetch
    return load(data)


def states(observation: Observation, record: SiteRecord = RECORD) -> dict[str, str]:
    return {o.code: o.state for o in evaluate(observation, record)}


def failed(observation: Observation, record: SiteRecord = RECORD) -> set[str]:
    return {code for code, state in states(observation, record).items() if state == FAILED}


def test_clean_footer_passes_everything():
    result = states(obs('<a href="https://beian.miit.gov.cn/">京ICP备10206937号-1</a>'))
    assert set(result.values()) == {PASSED}
    assert "filing.link_wrong" in result and "site.unreachable" in result


def test_subject_number_alone_is_accepted_unless_the_province_requires_the_website_number():
    footer = '<a href="https://beian.miit.gov.cn/">京ICP备10206937号</a>'
    assert failed(obs(footer)) == set()
    strict = SiteRecord(**{**RECORD.__dict__, "require_website_number": True})
    assert failed(obs(footer), strict) == {"filing.number_mismatch"}


def test_any_beian_miit_url_is_a_correct_link():
    for link in ("http://beian.miit.gov.cn", "https://beian.miit.gov.cn/#/Integrated/recordQuery",
                 "https://BEIAN.MIIT.GOV.CN/state/outPortal/loginPortal.action"):
        assert failed(obs(f'<a href="{link}">京ICP备10206937号-1</a>')) == set(), link


def test_wrong_link_targets():
    for link in ("http://www.miibeian.gov.cn/", "https://www.beian.miit.gov.cn/", "http://www.beian.gov.cn/",
                 "https://beian.mps.gov.cn/", "#"):
        assert failed(obs(f'<a href="{link}">京ICP备10206937号-1</a>')) == {"filing.link_wrong"}, link


def test_missing_mismatch_and_unlinked():
    assert failed(obs("© 2024 北京示例科技有限公司")) == {"filing.number_missing"}
    assert failed(obs("京公网安备11010802030000号")) == {"filing.number_missing"}
    assert failed(obs("京ICP备10206937号-1")) == {"filing.link_missing"}
    assert failed(obs('<a href="https://beian.miit.gov.cn/">京ICP备10206938号-1</a>')) == {"filing.number_mismatch"}
    app_only = failed(obs('<a href="https://beian.miit.gov.cn/">京ICP备10206937号-1A</a>'))
    assert app_only == {"filing.number_mismatch"}
    licence = failed(obs('浙ICP证030173号 <a href="https://beian.miit.gov.cn/">京ICP备10206937号-1</a>'))
    assert licence == set()


def test_root_causes_suppress_downstream_checks():
    unreachable = {"state": "failed", "failure": "timeout", "ours": False, "final_url": "http://example.cn/",
                   "attempts": [], "reason": "took longer than 10 s"}
    result = states(obs(fetch=unreachable))
    assert result["site.unreachable"] == FAILED
    assert not any(code.startswith("filing.") for code in result)
    offsite = {"state": "redirect_offsite", "final_url": "https://example.cn/", "offsite_url": "https://other.com/",
               "redirects": ["https://other.com/"], "attempts": []}
    result = states(obs(fetch=offsite))
    assert result["site.redirect_offsite"] == FAILED and not any(c.startswith("filing.") for c in result)
    placeholder = obs(html="<html><head><title>Welcome to nginx!</title></head><body><h1>Welcome to nginx!</h1></body></html>")
    assert failed(placeholder) == {"site.placeholder"}


def test_homepage_dns_failure_is_reported_once_by_access():
    dns = {"example.cn": {"outcome": "nxdomain", "chain": [], "addresses": []}, "example.com.cn": OK_DNS}
    fetch = {"state": "not_fetched", "failure": "dns", "ours": False, "attempts": []}
    assert failed(obs(fetch=fetch, dns=dns)) == {"access.dns_unresolved"}


def test_our_resolver_timing_out_is_not_a_finding():
    dns = {"example.cn": {"outcome": "timeout", "chain": [], "addresses": []}, "example.com.cn": OK_DNS}
    fetch = {"state": "not_fetched", "failure": "dns", "ours": True, "attempts": []}
    result = states(obs(fetch=fetch, dns=dns))
    assert result["access.dns_unresolved"] == NOT_CHECKED and FAILED not in result.values()


def test_too_large_is_could_not_check():
    fetch = {"state": "failed", "failure": "too_large", "ours": True, "attempts": [], "reason": "exceeded"}
    result = states(obs(fetch=fetch))
    assert result["site.unreachable"] == NOT_CHECKED and FAILED not in result.values()


def test_pending_sites_only_checked_for_being_live():
    pending = SiteRecord(**{**RECORD.__dict__, "status": "备案中"})
    assert states(obs("no number here"), pending) == {"site.live_while_pending": FAILED}
    closed = {"state": "failed", "failure": "refused", "ours": False, "attempts": []}
    assert states(obs(fetch=closed), pending) == {"site.live_while_pending": PASSED}
    cancelled = SiteRecord(**{**RECORD.__dict__, "status": "已注销"})
    assert evaluate(obs("x"), cancelled) == []


def test_foreign_and_private_addresses_per_domain():
    dns = {
        "example.cn": OK_DNS,
        "example.com.cn": {"outcome": "ok", "chain": ["x.cdn.other.net"], "addresses": ["45.76.1.2", "10.0.0.1"],
                           "owners": [{"address": "45.76.1.2", "kind": "unknown", "owner": "Vultr Holdings, LLC"},
                                      {"address": "10.0.0.1", "kind": "private"}]},
    }
    outcomes = {o.code: o for o in evaluate(obs('<a href="https://beian.miit.gov.cn/">京ICP备10206937号-1</a>', dns=dns), RECORD)}
    assert outcomes["access.foreign_ip"].state == FAILED
    assert outcomes["access.foreign_ip"].findings[0].domain == "example.com.cn"
    assert "Vultr" in outcomes["access.foreign_ip"].findings[0].summary
    assert outcomes["access.private_ip"].findings[0].evidence["private"] == ["10.0.0.1"]


def test_placeholder_near_misses():
    long_page = obs('<a href="https://beian.miit.gov.cn/">京ICP备10206937号-1</a>',
                    html=f"<html><body><h1>公司新闻</h1>{BODY}<p>新产品线上商城建设中，敬请期待。</p>"
                         '<footer><a href="https://beian.miit.gov.cn/">京ICP备10206937号-1</a></footer></body></html>')
    assert "site.placeholder" not in failed(long_page)
    short = obs(html="<html><body><h1>网站建设中</h1><p>敬请期待</p></body></html>")
    assert failed(short) == {"site.placeholder"}
    empty = obs(html="<html><body></body></html>")
    assert failed(empty) == {"site.placeholder"}
