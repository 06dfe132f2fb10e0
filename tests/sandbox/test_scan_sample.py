"""The sample world, scanned end to end through the real CLI: exactly the expected findings, no others."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checks import all_checks
from checks import codes as implemented
from scanner.sandbox import Sandbox, load_world
from tests.sandbox_helpers import beian, import_world_registry, scan, triples, write_config

SAMPLE = Path(__file__).resolve().parents[2] / "scanner" / "sandbox" / "worlds" / "sample.yaml"


@pytest.fixture(scope="module")
def sample_scan(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("sample")
    with Sandbox(load_world(SAMPLE), lifetime_s=600) as box:
        config = write_config(box, tmp_path)
        import_world_registry(box, config, tmp_path)
        result, findings = scan(config, tmp_path)
        connects = dict(box.web.connects)
        box.user_agents = {r.headers.get("user-agent", "") for r in box.web.requests}
        yield box.world, result, findings, connects, config, tmp_path, box


def expected_triples(world) -> set[tuple]:
    codes = set(implemented())
    return {
        (e["check"], e.get("website_number") or e["subject_number"], e.get("domain"))
        for e in world.expected
        if e["check"] in codes
    }


def test_exactly_the_expected_findings(sample_scan):
    world, _result, findings, *_ = sample_scan
    got = triples(findings)
    want = expected_triples(world)
    assert got - want == set(), "unexpected findings"
    assert want - got == set(), "missing findings"


def test_every_site_check_code_is_shown(sample_scan):
    """Every check a scan runs; the workflows' checks (annual review, contact verification, MIIT cross-check)
    never run in a scan and have end-to-end tests of their own."""
    world, *_ = sample_scan
    shown = {e["check"] for e in world.expected}
    for check in all_checks():
        if not check.on_workflow:
            assert check.code in shown, f"the sample world shows no {check.code}"


def test_findings_follow_the_contract(sample_scan):
    _world, _result, findings, *_ = sample_scan
    for finding in findings:
        assert set(finding) == {"check", "severity", "subject_number", "website_number", "domain", "summary",
                                "evidence", "first_seen", "last_seen"}
        assert finding["severity"] in ("critical", "violation", "warning")
        assert finding["first_seen"].endswith("+08:00")
        assert any("\u4e00" <= ch <= "\u9fff" for ch in finding["summary"])  # Chinese for customers


def test_evidence_is_readable(sample_scan):
    _world, _result, findings, *_ = sample_scan
    by_key = {(f["check"], f["domain"]): f for f in findings}
    foreign = by_key[("access.foreign_ip", "sh-data-mirror.cn")]["evidence"]["foreign"][0]
    assert foreign["owner"] == "Vultr Holdings, LLC" and foreign["asn"] == "AS20473"
    hk = by_key[("access.foreign_ip", "sh-cloud-hk.cn")]["evidence"]["foreign"][0]
    assert hk["kind"] == "provider_offshore" and hk["region"] == "HK"
    wrong = by_key[("filing.link_wrong", "oldlink-example.cn")]["evidence"]
    assert wrong["link"] == "http://www.miibeian.gov.cn/" and "京ICP备10206937号-11" in wrong["snippet"]
    assert "京公网安备11010802030001号" in by_key[("filing.number_missing", "psb-example.cn")]["evidence"]["psb_numbers"]


def test_private_addresses_are_never_connected(sample_scan):
    *_rest, connects, _config, _tmp, _box = sample_scan
    assert not any(address == "127.99.0.1" for address, _port in connects)


def test_user_agent_names_the_product_and_a_contact(sample_scan):
    box = sample_scan[-1]
    assert box.user_agents and all(ua.startswith("beian-scanner/") and "+https://" in ua for ua in box.user_agents)


def test_rescan_updates_instead_of_duplicating(sample_scan):
    _world, _result, first, _connects, config, tmp_path, box = sample_scan
    asked = set(box.rdap.domain_queries)
    before = len(box.rdap.domain_queries)
    _result2, second = scan(config, tmp_path)
    assert triples(second) == triples(first)
    # RDAP answers are cached: the second scan asks only for what could not be looked up (timeout, 429)
    assert "example-tech.cn" in asked and "expired-example.cn" in asked
    assert sorted(set(box.rdap.domain_queries[before:])) == ["busy-rdap-example.cn", "slow-rdap-example.cn"]
    for finding in second:
        assert finding["first_seen"] <= finding["last_seen"]


def test_html_report_shows_every_finding_and_the_chart(sample_scan):
    import html as html_lib
    import re

    _world, result, findings, _connects, config, tmp_path, _box = sample_scan
    out = tmp_path / "report.html"
    scan_id = re.search(r"scan (\d+) ", result.stdout).group(1)  # this scan's, whatever ran after it
    done = beian(config, "report", scan_id, "--format", "html", "--output", str(out))
    assert done.returncode == 0, done.stderr
    page = out.read_text(encoding="utf-8")
    rows = set(re.findall(r'<tr class="finding" data-check="([^"]+)" data-website="([^"]*)">', page))
    scan_findings = [f for f in findings if f["website_number"] or f["subject_number"]]
    for f in scan_findings:
        assert (f["check"], html_lib.escape(f["website_number"] or "")) in rows, f
        assert html_lib.escape(f["summary"], quote=False) in page, f["summary"]
    assert page.count('<tr class="finding"') == len(findings)
    assert re.search(r'<figure class="chart" id="trend-chart"><svg', page), "the trend chart is inline SVG"
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="https?://', page), "self-contained: nothing fetched"
    for fmt in ("csv", "xlsx", "jsonl"):
        done = beian(config, "report", scan_id, "--format", fmt, "--output", str(tmp_path / f"report.{fmt}"))
        assert done.returncode == 0 and f"{len(findings)} findings" in done.stdout, (fmt, done.stderr)
    lines = (tmp_path / "report.jsonl").read_text(encoding="utf-8").splitlines()
    assert sorted(json.loads(line)["check"] for line in lines) == sorted(f["check"] for f in findings)


def test_domain_and_tls_evidence_and_informational_codes(sample_scan):
    _world, _result, findings, _connects, config, _tmp, _box = sample_scan
    by_key = {(f["check"], f["domain"]): f for f in findings}
    expired = by_key[("domain.expired", "expired-example.cn")]["evidence"]
    assert expired["expires"] and expired["dns"] == {"expired-example.cn": "nxdomain"}
    assert ("access.dns_unresolved", "expired-example.cn") not in by_key
    cert = by_key[("site.tls_invalid", "certs-example.cn")]["evidence"]
    assert cert["trusted"] and "sandbox CA" in cert["issuer"] and cert["sans"] == ["certs-example.cn"]
    assert "过期" in by_key[("site.tls_invalid", "certs-example.cn")]["summary"]
    own = by_key[("site.tls_invalid", "selfsigned-example.cn")]["evidence"]
    assert own["self_signed"] and not own.get("trusted") and own["problems"] == ["为自签名证书"]
    other = by_key[("site.tls_invalid", "wronghost-example.cn")]["evidence"]
    assert other.get("host_matches") is False and other["trusted"] and "wronghost-example.cn" not in other["sans"]
    assert not any(f["domain"] in ("private-whois-example.cn", "slow-rdap-example.cn", "busy-rdap-example.cn")
                   for f in findings)  # could not check is never a finding
    done = beian(config, "cases", "--format", "csv")
    assert done.returncode == 0, done.stderr
    assert "domain.expired" in done.stdout and "site.tls_invalid" in done.stdout
    assert "filing.psb_missing" not in done.stdout  # informational: no case unless [notices] include_codes
