"""The scanner on hostile ground: private targets, redirects into private space, bombs, drips, loops."""

from __future__ import annotations

import pytest

from scanner.sandbox import Sandbox
from scanner.sandbox.world import parse_world
from tests.sandbox_helpers import beian, import_world_registry, scan, triples, warm_certificates, write_config

GOOD = "<html><body><h1>安全测试网站</h1><p>" + "正常的网站内容，介绍公司的产品与服务。" * 20 + \
       "</p><footer><a href='https://beian.miit.gov.cn/'>京ICP备20000001号-{n}</a></footer></body></html>"


def site(n: int, domains: list[str], status: str = "已备案") -> dict:
    return {"website_number": f"京ICP备20000001号-{n}", "name": f"安全测试网站{n}", "domains": domains, "status": status}


WORLD = {
    "name": "safety",
    "scanner": {"provider": {"ip_ranges": ["127.30.0.0/16"]},
                # timeout_s is one website's whole budget (https, http, redirects): 10 s, so that on a loaded
                # machine the hostile streams reach their size cap, and the loop its redirect cap, within it
                "fetch": {"allow_ranges": ["127.30.0.0/16"], "only_ranges": ["127.0.0.0/8"], "timeout_s": 10,
                          "max_bytes": 1000000, "max_redirects": 3}},
    "hosts": {
        "private4.cn": {"a": ["127.31.0.1"]},
        "private6.cn": {"aaaa": ["::1"]},
        "trap.private4.cn": {"a": ["127.31.0.1"], "web": {"page": "trap"}},
        "mixed.cn": {"a": ["127.31.0.1", "127.30.0.1"], "web": {"page": GOOD.replace("{n}", "3")}},
        "www.rebind.cn": {"a": ["127.30.0.1"], "web": {"redirect": "http://inner.rebind.cn/"}},
        "inner.rebind.cn": {"a": ["127.31.0.1"]},
        "huge.cn": {"a": ["127.30.0.1"], "web": {"behaviour": "huge", "huge_bytes": 50000000}},
        "bomb.cn": {"a": ["127.30.0.1"], "web": {"behaviour": "gzip_bomb", "huge_bytes": 200000000}},
        "drip.cn": {"a": ["127.30.0.1"], "web": {"page": GOOD, "behaviour": "drip", "drip_interval_s": 0.5}},
        "loop.cn": {"a": ["127.30.0.1"], "web": {"redirect": "https://www.loop.cn/"}},
        "www.loop.cn": {"a": ["127.30.0.1"], "web": {"redirect": "https://loop.cn/"}},
        "chunked.cn": {"a": ["127.30.0.1"], "web": {"behaviour": "huge", "huge_bytes": 50000000, "declare_length": False}},
        "half.cn": {"a": ["127.30.0.1"], "http": {"behaviour": "huge", "huge_bytes": 50000000}},
    },
    "registry": {"subjects": [{
        "subject_number": "京ICP备20000001号", "name": "北京安全测试有限公司", "nature": "企业",
        "websites": [site(1, ["private4.cn"]), site(2, ["private6.cn"]), site(3, ["mixed.cn"]),
                     {**site(4, ["rebind.cn"]), "homepage": "www.rebind.cn"}, site(5, ["huge.cn"]),
                     site(6, ["bomb.cn"]), site(7, ["drip.cn"]), site(8, ["loop.cn"]), site(9, ["chunked.cn"]),
                     site(10, ["half.cn"])],
    }]},
}


@pytest.fixture(scope="module")
def safety(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("safety")
    with Sandbox(parse_world(WORLD), lifetime_s=300) as box:
        config = write_config(box, tmp_path)
        import_world_registry(box, config, tmp_path)
        warm_certificates(box)
        result, findings = scan(config, tmp_path)
        yield box, result, findings, config


def test_private_targets_are_reported_and_never_connected(safety):
    box, _result, findings, _config = safety
    got = triples(findings)
    assert ("access.private_ip", "京ICP备20000001号-1", "private4.cn") in got
    assert ("access.private_ip", "京ICP备20000001号-2", "private6.cn") in got
    assert ("access.private_ip", "京ICP备20000001号-3", "mixed.cn") in got
    assert box.web.connects[("127.31.0.1", 80)] == 0 and box.web.connects[("127.31.0.1", 443)] == 0
    assert not [f for f in findings if f["website_number"] in ("京ICP备20000001号-1", "京ICP备20000001号-2")
                and not f["check"].startswith("access.")]


def test_mixed_answer_fetches_only_the_allowed_address(safety):
    box, _result, findings, _config = safety
    assert box.web.connects[("127.30.0.1", 443)] > 0
    assert not [f for f in findings if f["website_number"] == "京ICP备20000001号-3" and f["check"].startswith("site.")]


def test_redirect_into_private_space_is_not_followed(safety):
    box, _result, findings, _config = safety
    assert box.web.connects[("127.31.0.1", 80)] == 0
    rebind = [f for f in findings if f["website_number"] == "京ICP备20000001号-4"]
    assert rebind, "the redirect target cannot be fetched: the site is not reachable"
    assert all(f["check"] != "site.placeholder" for f in rebind)


def test_huge_and_bomb_are_not_violations(safety):
    _box, _result, findings, _config = safety
    # with Content-Length, without it (the cap is hit while reading), and when https is refused but http too big
    hostile = {"京ICP备20000001号-5", "京ICP备20000001号-6", "京ICP备20000001号-9", "京ICP备20000001号-10"}
    assert not [f for f in findings if f["website_number"] in hostile], "too big to check is our limit, not theirs"


def test_drip_is_bounded_by_the_timeout_and_loops_by_the_redirect_cap(safety):
    _box, result, findings, _config = safety
    got = triples(findings)
    assert ("site.unreachable", "京ICP备20000001号-7", "drip.cn") in got
    assert ("site.unreachable", "京ICP备20000001号-8", "loop.cn") in got
    loop = next(f for f in findings if f["website_number"] == "京ICP备20000001号-8")
    assert loop["evidence"]["failure"] == "redirects" and "重定向次数过多" in loop["summary"], loop
    assert "could not be checked" in result.stdout


def test_not_checked_sites_are_recorded_with_reasons(safety):
    _box, _result, _findings, config = safety
    import sqlite3

    database = config.read_text(encoding="utf-8").split('"sqlite:///')[1].split('"')[0]
    rows = dict(sqlite3.connect(database).execute(
        "select w.website_number, o.reason from observations o join websites w on w.id = o.website_id "
        "where o.outcome = 'not_checked'").fetchall())
    assert set(rows) == {"京ICP备20000001号-5", "京ICP备20000001号-6", "京ICP备20000001号-9", "京ICP备20000001号-10"}
    assert all(reason for reason in rows.values())


def test_scan_selectors(safety):
    _box, _result, _findings, config = safety
    result = beian(config, "scan", "--website", "京ICP备99999999号-1")
    assert result.returncode == 2 and "no filed website matches" in result.stderr
