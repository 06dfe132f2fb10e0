"""The benchmark farm (bench/farm.py) builds what it claims: pages of the asked size with a filing number the
footer script finds (linked or not, as the style says), a world that makes the sandbox bind no web listener,
the latency routing shares, and an nginx.conf that nginx accepts."""

from __future__ import annotations

import os
import random
import subprocess
from pathlib import Path

import pytest

from bench.bs4_crawl import footer_facts
from bench.farm import FOOTERS, NGINX, Farm, build_sites, footer_html, page_html, world_for
from scanner.sandbox.world import parse_world


@pytest.mark.parametrize("page_kb", [40, 16])
def test_pages_are_about_the_asked_size_and_show_their_number(page_kb):
    sites, registry = build_sites(20, latency=False)
    rng = random.Random(3)
    sizes = []
    for site in sites:
        html = page_html(rng, title="云端科技", company="北京云端科技有限公司", address="北京市某区某路1号",
                         footer=site.footer, page_kb=page_kb)
        sizes.append(len(html.encode()))
        assert "新闻" in html or "资讯" in html or "公告" in html or "技术文章" in html
        number, _linked = footer_facts(html)
        assert number is not None, site.footer
    average = sum(sizes) / len(sizes)
    assert 0.9 * page_kb * 1024 < average < 1.1 * page_kb * 1024
    assert len({w["website_number"] for s in registry["subjects"] for w in s["websites"]}) == 20


def test_footer_styles_link_as_they_say():
    number, subject = "京ICP备30000001号-1", "京ICP备30000001号"
    linked = {style: footer_facts(f"<footer>{footer_html(style, number, subject, '某公司')}</footer>") for style in FOOTERS}
    assert linked["linked"] == (number, True)
    assert linked["fullwidth"] == (number, True)
    assert linked["spans"] == (number, True)
    assert linked["subject"] == (subject, True)
    assert linked["unlinked"] == (number, False)
    assert linked["old_link"] == (number, False)  # linked, but to the old miibeian domain


def test_the_world_has_no_web_spec_and_latency_routes_its_shares():
    sites, registry = build_sites(1000, latency=True)
    world = parse_world(world_for(sites, registry))
    assert world.web_addresses() == []  # `sandbox up` binds nothing that nginx or the front needs
    nets = [s.address.rsplit(".", 2)[0] for s in sites]
    assert 0.06 < nets.count("127.32") / len(sites) < 0.14  # hanging
    assert 0.02 < nets.count("127.33") / len(sites) < 0.08  # refusing
    plain, _ = build_sites(1000, latency=False)
    assert [s.domain for s in plain] == [s.domain for s in sites]  # the same sites in both modes
    assert all(s.address == s.nginx for s in plain)


@pytest.mark.skipif(not Path(NGINX).exists() and not os.environ.get("CI"),
                    reason="needs Debian's nginx (nginx-light); under CI it must be there: .ci/run installs it")
def test_nginx_accepts_the_generated_conf(tmp_path):
    farm = Farm(tmp_path / "farm", 20, page_kb=16)
    farm.build()
    result = subprocess.run([NGINX, "-t", "-p", str(farm.dir), "-c", str(farm.dir / "nginx.conf")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (farm.dir / "sites" / farm.sites[0].domain / "index.html").stat().st_size > 10_000
