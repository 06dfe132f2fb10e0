"""Dead and hanging hosts cost one budget: what each website's observation says was tried, and what the
sandbox's web servers saw. Assertions are on attempts, never on elapsed time."""

from __future__ import annotations

import sqlite3

import pytest

from scanner.sandbox import Sandbox
from scanner.sandbox.world import parse_world
from scanner.store.observations import decode
from tests.sandbox_helpers import import_world_registry, scan, warm_certificates, write_config

PAGE = ("<html><body><h1>预算测试网站</h1><p>" + "正常的网站内容，介绍公司的产品与服务。" * 20 +
        "</p><footer><a href='https://beian.miit.gov.cn/'>京ICP备20000003号-{n}</a></footer></body></html>")


def site(n: int, domain: str) -> dict:
    return {"website_number": f"京ICP备20000003号-{n}", "name": f"预算测试网站{n}", "domains": [domain], "status": "已备案"}


# 127.43.0.9 carries no listener (no host there has a web spec): connections to it are refused.
WORLD = {
    "name": "budget",
    "scanner": {"provider": {"ip_ranges": ["127.43.0.0/16"]},
                "fetch": {"allow_ranges": ["127.43.0.0/16"], "only_ranges": ["127.0.0.0/8"], "timeout_s": 6}},
    "hosts": {
        "hang.cn": {"a": ["127.43.0.2"], "web": {"behaviour": "hang"}},
        "www.hang.cn": {"a": ["127.43.0.3"], "web": {"page": PAGE.replace("{n}", "1")}},
        "refused.cn": {"a": ["127.43.0.9"]},
        "www.refused.cn": {"a": ["127.43.0.9"]},
        "nxapex.cn": {"rcode": "nxdomain"},
        "www.nxapex.cn": {"a": ["127.43.0.5"], "https": {"page": PAGE.replace("{n}", "3")}},
        "slowtls.cn": {"a": ["127.43.0.4"], "https": {"behaviour": "hang"}, "http": {"page": PAGE.replace("{n}", "4")}},
        "down.cn": {"a": ["127.43.0.6"], "web": {"status": 503, "page": "<h1>503 Service Unavailable</h1>"}},
        "www.down.cn": {"a": ["127.43.0.7"], "https": {"page": PAGE.replace("{n}", "5")}},
    },
    "registry": {"subjects": [{
        "subject_number": "京ICP备20000003号", "name": "北京预算测试有限公司", "nature": "企业",
        "websites": [site(1, "hang.cn"), site(2, "refused.cn"), site(3, "nxapex.cn"), site(4, "slowtls.cn"),
                     site(5, "down.cn")],
    }]},
}


@pytest.fixture(scope="module")
def budget(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("budget")
    with Sandbox(parse_world(WORLD), lifetime_s=300) as box:
        config = write_config(box, tmp_path)
        import_world_registry(box, config, tmp_path)
        warm_certificates(box)
        _result, findings = scan(config, tmp_path)
        connects = dict(box.web.connects)
    rows = sqlite3.connect(tmp_path / "beian.db").execute(
        "select w.website_number, o.data from observations o join websites w on w.id = o.website_id").fetchall()
    observations = {number.rsplit("-", 1)[1]: decode(data) for number, data in rows}
    yield observations, findings, connects


def tried(obs) -> list[tuple[str, str]]:
    return [(a.url, a.failure or str(a.status)) for a in obs.fetch.attempts]


def test_a_hanging_site_costs_one_budget(budget):
    observations, findings, connects = budget
    # https and http both started and both cut at the one deadline; www. is not tried after a hang
    assert tried(observations["1"]) == [("https://hang.cn/", "timeout"), ("http://hang.cn/", "timeout")]
    assert observations["1"].fetch.failure == "timeout"
    # one connection per scheme: no retry
    assert connects.get(("127.43.0.2", 443)) == 1 and connects.get(("127.43.0.2", 80)) == 1
    assert not connects.get(("127.43.0.3", 443)) and not connects.get(("127.43.0.3", 80))
    finding = next(f for f in findings if f["domain"] == "hang.cn")
    assert finding["check"] == "site.unreachable" and finding["evidence"]["failure"] == "timeout"


def test_a_refused_site_is_recorded_as_refused_and_www_is_tried_once(budget):
    observations, findings, _connects = budget
    assert tried(observations["2"]) == [("https://refused.cn/", "refused"), ("http://refused.cn/", "refused"),
                                        ("https://www.refused.cn/", "refused"), ("http://www.refused.cn/", "refused")]
    finding = next(f for f in findings if f["domain"] == "refused.cn")
    assert finding["check"] == "site.unreachable" and finding["evidence"]["failure"] == "refused"
    assert "连接被拒绝" in finding["summary"]
    assert {a["failure"] for a in finding["evidence"]["attempts"]} == {"refused"}


def test_an_apex_that_does_not_resolve_falls_back_to_www(budget):
    observations, findings, _connects = budget
    obs = observations["3"]
    assert tried(obs) == [("https://nxapex.cn/", "dns"), ("http://nxapex.cn/", "dns"), ("https://www.nxapex.cn/", "200")]
    assert obs.fetch.state == "page" and obs.fetch.final_url == "https://www.nxapex.cn/"
    assert not [f for f in findings if f["check"] == "site.unreachable" and f["domain"] == "nxapex.cn"]


def test_http_answers_beside_a_hanging_https(budget):
    observations, _findings, connects = budget
    obs = observations["4"]
    # happy eyeballs: http started while https hung; https, preferred, is waited for until the deadline
    assert tried(obs) == [("https://slowtls.cn/", "timeout"), ("http://slowtls.cn/", "200")]
    assert obs.fetch.state == "page" and obs.fetch.final_url == "http://slowtls.cn/"
    assert connects.get(("127.43.0.4", 443)) == 1 and connects.get(("127.43.0.4", 80)) == 1


def test_an_apex_that_answers_an_error_fast_falls_back_to_www(budget):
    observations, _findings, _connects = budget
    assert tried(observations["5"]) == [("https://down.cn/", "http_status"), ("http://down.cn/", "http_status"),
                                        ("https://www.down.cn/", "200")]
    assert observations["5"].fetch.final_url == "https://www.down.cn/"
