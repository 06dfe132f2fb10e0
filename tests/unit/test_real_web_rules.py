"""Rules that real homepages exposed (issue 17 §2), each as a general rule with the page shape that broke it.
Checks are judged through the same judge a scan uses, on typed observations from the builders."""

from __future__ import annotations

from stdnum.cn import ric

import checks
from checks.registry_certificate_invalid import problem
from core.observation import Render
from core.statuses import FAILED, NOT_CHECKED, PASSED
from spiders.page import extract
from tests.builders import page_observation, record

BODY = "<p>" + "我们提供企业软件开发与技术咨询服务，欢迎来电洽谈合作。" * 12 + "</p>"


def judged(html: str, **fields) -> dict[str, object]:
    site = record(**fields)
    return {o.code: o for o in checks.evaluate(page_observation(html), site)}


def page(footer: str, title: str = "北京示例科技有限公司", body: str = BODY, head: str = "") -> str:
    return f"<html><head><title>{title}</title>{head}</head><body><h1>{title}</h1>{body}<footer>{footer}</footer></body></html>"


def test_a_neighbouring_link_is_not_the_numbers_link():
    for neighbour in ('<a href="/about">北京示例科技有限公司</a>', '<a href="/traffic">周边交通</a>',
                      '<a href="https://www.12377.cn/">举报中心</a>'):
        outcomes = judged(page(f"<p>{neighbour} 京ICP备10000000号-1</p>"))
        assert outcomes["filing.link_missing"].state == FAILED, neighbour
        assert "filing.link_wrong" not in outcomes or outcomes["filing.link_wrong"].state != FAILED, neighbour
    # a link around the number's own label is its link
    outcomes = judged(page('<p><a href="https://beian.miit.gov.cn/">备案号：</a>京ICP备10000000号-1</p>'))
    assert outcomes["filing.link_missing"].state == PASSED


def test_public_institutions_may_publish_government_style_information():
    nav = ('<nav class="nav"><a href="/xxgk">信息公开</a><a href="/bszn">办事指南</a><a href="/tzgg">通知公告</a>'
           '<a href="/zcfg">政策法规</a></nav>')
    html = page('<a href="https://beian.miit.gov.cn/">京ICP备10000000号-1</a>', title="某某大学附属医院",
                body=nav + "<h2>信息公开</h2><h2>办事指南</h2>" + BODY)
    for nature in ("事业单位", "社会团体", "基金会", "民办非企业单位"):
        assert judged(html, nature=nature, subject_name="某某大学附属医院")["content.subject_mismatch"].state == PASSED


def test_a_number_shown_statically_is_judged_even_when_rendering_then_fails():
    shell = ('<html><body><div id="app"></div><script src="/js/app.js"></script>'
             '<footer><a href="http://www.miibeian.gov.cn/">京ICP备10000000号-1</a></footer></body></html>')
    obs = page_observation(shell)
    assert obs.page.app_shell and obs.page.numbers
    obs.page.render = Render("failed", reason="渲染超时（15 秒）")
    outcomes = {o.code: o for o in checks.evaluate(obs, record())}
    assert outcomes["filing.link_wrong"].state == FAILED
    # content still needs what the browser would have shown
    assert outcomes["content.prohibited"].state == NOT_CHECKED


def test_a_hijacked_title_or_meta_on_a_company_page_is_prohibited_content():
    footer = '<a href="https://beian.miit.gov.cn/">京ICP备10000000号-1</a>'
    hijacked = page(footer, title="百家乐_真人视讯_澳门威尼斯人_开户送彩金-北京示例科技有限公司")
    assert judged(hijacked)["content.prohibited"].state == FAILED
    encoded = page(footer, title="&amp;#30334;&amp;#23478;&amp;#20048; &amp;#30495;&amp;#20154;&amp;#35270;&amp;#35759;")
    assert judged(encoded)["content.prohibited"].state == FAILED
    meta = page(footer, head='<meta name="keywords" content="百家乐,真人视讯,网上赌场,开户送彩金">')
    assert judged(meta)["content.prohibited"].state == FAILED
    assert judged(page(footer))["content.prohibited"].state == PASSED


def test_casino_vocabulary_and_lottery_news():
    footer = '<a href="https://beian.miit.gov.cn/">京ICP备10000000号-1</a>'
    casino = page(footer, title="线上娱乐平台", body="<p>真人视讯 电子游艺 棋牌 每日返水1.2% 开户送38元 充值秒到 提款五分钟到账</p>" + BODY)
    assert judged(casino)["content.prohibited"].state == FAILED
    news = page(footer, title="体彩新闻", body="<p>双色球第2024001期开奖公告：本期开奖号码为03 07 12 19 25 31，"
                                              "一等奖中奖注数5注，投注总额3.5亿元。理性购彩，量力而行。</p>" + BODY)
    assert judged(news)["content.prohibited"].state == PASSED


def test_film_and_video_sites_need_the_film_tv_approval():
    footer = '<a href="https://beian.miit.gov.cn/">京ICP备10000000号-1</a>'
    film = page(footer, title="最新电影在线观看", body="<p>高清电影下载 BT种子 磁力链接 追剧必备 影视资源每日更新</p>" + BODY)
    outcome = judged(film)["content.preapproval_missing"]
    assert outcome.state == FAILED and "film_tv" in str(outcome.findings[0].evidence)
    assert judged(film, pre_approvals=[{"category": "广播电影电视"}])["content.preapproval_missing"].state == PASSED


def test_a_personal_shop_without_cart_links_is_shop_content():
    footer = '<a href="https://beian.miit.gov.cn/">京ICP备10000000号-1</a>'
    shop = page(footer, title="小张的手工皂", body=(
        "<p>纯手工冷制皂 ¥39.00 <button>加入购物车</button></p><p>玫瑰精油皂 ¥49.00 <button>立即购买</button></p>"
        "<p>支持微信支付、支付宝，全国包邮，七天无理由退换货。</p>" + BODY))
    outcome = judged(shop, nature="个人", subject_name="张三")["content.subject_mismatch"]
    assert outcome.state == FAILED and "shop" in str(outcome.findings[0].evidence)


def test_resident_id_from_a_district_created_after_the_birth_year_is_valid():
    def make(first17: str) -> str:
        return first17 + ric.calc_check_digit(first17 + "0")

    daxing_1980 = make("110115" + "19800101" + "123")  # 大兴区 code exists since 2001
    assert not ric.is_valid(daxing_1980)  # python-stdnum ties the county to the birth year
    assert problem("居民身份证", daxing_1980) is None
    assert problem("居民身份证", make("999999" + "19800101" + "123")) == "身份证号码的地区码不存在"
    assert problem("居民身份证", daxing_1980[:-1] + ("0" if daxing_1980[-1] != "0" else "1")) == "校验位错误"


def test_markup_nested_deeper_than_255_levels_keeps_its_text():
    html = "<html><body>" + "<font>" * 300 + BODY + '<a href="https://beian.miit.gov.cn/">京ICP备10000000号-1</a></body></html>'
    facts = extract(html)
    assert [n.number for n in facts.numbers] == ["京ICP备10000000号-1"] and facts.numbers[0].linked


def test_a_number_without_its_province_is_shown_but_incomplete():
    outcomes = judged(page('<p>备案号：<a href="https://beian.miit.gov.cn/">ICP备10000000号-1</a></p>'))
    assert outcomes["filing.number_missing"].state == PASSED
    assert outcomes["filing.number_mismatch"].state == FAILED


def test_english_panel_maintenance_and_error_pages_are_placeholders_not_missing_numbers():
    for title, body in (
        ("Congratulations, the site was created successfully!", "<h1>Congratulations, the site was created successfully!</h1>"
         "<p>The site was created successfully and this page is automatically generated by the system.</p>"),
        ("Site not found", "<p>Your request did not find this site in the web server!</p>"),
        ("Page Temporarily Unavailable", "<p>We are performing scheduled maintenance.</p>"),
        ("Error", "<p>An error occurred. The page you requested is currently unavailable.</p>"),
        ("400 Bad Request", "<h1>400 Bad Request</h1><hr>nginx"),
        ("OP网站防火墙", "<p>您的请求带有不合法参数，已被网站管理员设置拦截！</p>"),
    ):
        outcomes = judged(f"<html><head><title>{title}</title></head><body>{body}</body></html>")
        assert outcomes["site.placeholder"].state == FAILED, title
        missing = outcomes.get("filing.number_missing")
        assert missing is None or missing.state != FAILED, title


def test_how_it_works_prose_is_not_the_apache_default_page():
    prose = page('<a href="https://beian.miit.gov.cn/">京ICP备10000000号-1</a>',
                 body="<p>Sign up, shop and get paid in 3 working days. Here is how it works!</p>" + BODY)
    assert judged(prose)["site.placeholder"].state == PASSED


def test_official_lottery_draw_broadcasts_are_not_betting():
    footer = '<a href="https://beian.miit.gov.cn/">京ICP备10000000号-1</a>'
    official = page(footer, title="中国福利彩票", body="<nav><a>开奖直播</a><a>往期开奖</a></nav>"
                    "<p>【图解】12亿大派奖来袭，如何投注才能奖金翻番？</p>" + BODY)
    assert judged(official)["content.prohibited"].state == PASSED


def test_link_farms_and_lawyers_beside_the_copyright_are_not_the_owner():
    number = '<a href="https://beian.miit.gov.cn/">京ICP备10000000号-1</a>'
    farm = page(f"<p>快速链接 江苏校园招聘网 北京明德医院 恒通国际创新园 产业园区链接 Copyright 2019 示例招聘网 Inc. {number}</p>")
    assert judged(farm)["content.owner_mismatch"].state == PASSED
    lawyer = page(f"<p>Copyright 2021 示例信息网 版权所有 法律顾问：山东某某律师事务所 {number}</p>")
    assert judged(lawyer)["content.owner_mismatch"].state == PASSED
    other = page(f"<p>版权所有：上海另一家网络有限公司 {number}</p>")
    assert judged(other)["content.owner_mismatch"].state == FAILED
