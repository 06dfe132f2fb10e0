"""Filing numbers in every real-world form, and what counts as visible on a page."""

from __future__ import annotations

import pytest

from core.icp import canonical, find_numbers, normalise, parse_number
from spiders.page import extract


@pytest.mark.parametrize(
    "text, number",
    [
        ("京ICP备10206937号", "京ICP备10206937号"),
        ("粤ICP备2021012345号-3", "粤ICP备2021012345号-3"),
        ("粤ＩＣＰ备２０２１０１２３４５号－１", "粤ICP备2021012345号-1"),
        ("沪ICP备 12003456 号 - 3", "沪ICP备12003456号-3"),
        ("閩ICP備12345678號-2", "闽ICP备12345678号-2"),
        ("蜀ICP备2022003344号", "蜀ICP备2022003344号"),
        ("备案号：浙icp备13012345号-1", "浙ICP备13012345号-1"),
        ("京ICP备10206937号—1", "京ICP备10206937号-1"),
    ],
)
def test_numbers_in_real_world_forms(text, number):
    found = find_numbers(normalise(text))
    assert [n.canonical for n in found] == [number]


def test_app_licence_and_psb_numbers_are_told_apart():
    text = normalise("浙ICP证030173号 浙B2-20080224 京ICP备10206937号-1A 京ICP备10206937号-2X 京公网安备11010802020000号")
    found = find_numbers(text)
    assert [(n.canonical, n.kind, n.is_app) for n in found] == [
        ("浙ICP证030173号", "证", False),
        ("京ICP备10206937号-1A", "备", True),
        ("京ICP备10206937号-2X", "备", True),
    ]


def test_parse_number_is_strict_about_extra_text():
    assert parse_number(" 京ICP备10206937号-1 ").canonical == "京ICP备10206937号-1"
    assert parse_number("京ICP备10206937号-1 和 京ICP备10206937号-2") is None
    assert parse_number("10206937") is None
    assert canonical("京ＩＣＰ备10206937号") == "京ICP备10206937号"


def page(footer: str, body: str = "<p>正文内容</p>") -> str:
    return f"<html><head><title>测试</title></head><body><main>{body}</main><footer>{footer}</footer></body></html>"


def test_nested_spans_and_route_links():
    facts = extract(page('<a href="http://beian.miit.gov.cn/#/Integrated/recordQuery"><span>京ICP备</span>'
                         '<span>10206937</span><span>号-2</span></a>'), "https://x.cn/")
    assert [(n.number, n.link, n.region) for n in facts.numbers] == [
        ("京ICP备10206937号-2", "http://beian.miit.gov.cn/#/Integrated/recordQuery", "footer")
    ]


def test_invisible_places_do_not_count():
    html = page('<!-- 京ICP备10206937号 --><script>document.write("京ICP备10206937号")</script>'
                '<style>.x:after{content:"京ICP备10206937号"}</style><div style="display: none">京ICP备10206937号</div>'
                '<p hidden>京ICP备10206937号</p><input type="hidden" value="京ICP备10206937号"><noscript>京ICP备10206937号</noscript>')
    facts = extract(html)
    assert facts.numbers == []
    assert facts.numbers_in_hidden == ["京ICP备10206937号"]


def test_number_split_by_block_elements_is_still_one_line_number():
    facts = extract(page("<span>京ICP备</span>\n<b>10206937号</b>"))
    assert [n.number for n in facts.numbers] == ["京ICP备10206937号"]


def test_link_from_onclick_and_from_the_label_beside_it():
    facts = extract(page('<a href="javascript:;" onclick="window.open(\'https://beian.miit.gov.cn\')">京ICP备10206937号</a>'))
    assert facts.numbers[0].link == "https://beian.miit.gov.cn"
    facts = extract(page('<a href="https://beian.miit.gov.cn/">备案号：</a>京ICP备10206937号'))
    assert facts.numbers[0].linked
    facts = extract(page('<a href="https://beian.miit.gov.cn/">工信部</a><p>很远很远的另一行文字</p>京ICP备10206937号'))
    assert not facts.numbers[0].linked


def test_gbk_bytes_and_meta_refresh_and_app_shell():
    html = page("粤ICP备2021012345号").replace("<head>", '<head><meta http-equiv="refresh" content="0; url=/home/">')
    facts = extract(html, "https://x.cn/")
    assert facts.meta_refresh == "https://x.cn/home/"
    shell = extract('<html><body><div id="app"></div><script src="/js/app.3f2a.js"></script></body></html>')
    assert shell.app_shell and not shell.numbers


def test_psb_number_is_recorded_but_is_not_an_icp_number():
    facts = extract(page("京公网安备 11010802030000号"))
    assert facts.numbers == [] and facts.psb_numbers == ["京公网安备11010802030000号"]


def test_a_psb_link_beside_an_unlinked_icp_number_is_not_its_link():
    html = ('<html><body><footer><p>© 2024 北京示例科技有限公司 京ICP备10206937号-10</p>'
            '<p><a href="http://www.beian.gov.cn/portal/registerSystemInfo?recordcode=11010802039999">'
            '京公网安备 11010802039999号</a></p></footer></body></html>')
    facts = extract(html, "https://nolink-example.cn/")
    (number,) = facts.numbers
    assert not number.linked and number.link is None
    assert facts.psb_numbers
