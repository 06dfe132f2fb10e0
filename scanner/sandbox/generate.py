"""Generate big worlds (10 k to 200 k sites) with a realistic mix, for benchmarks.

    python -m scanner.sandbox.generate --sites 20000 --out world.json

Each site gets one kind from MIX: compliant in several footer styles, dead, hanging, slow drip, HTTP
errors, placeholders, redirects away, filing-number problems, DNS failures, foreign addresses, pending
filings; optionally a share of single-page apps whose footer exists only after their bundle runs. Pages are ~`page_kb` KB. Registry data is valid (phones, certificates) except for a small
share of registry problems, so that registry checks have work to do.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from stdnum.cn import uscc

PROVINCES = [("京", "北京市", "11"), ("沪", "上海市", "31"), ("粤", "广东省", "44"), ("浙", "浙江省", "33"),
             ("苏", "江苏省", "32"), ("蜀", "四川省", "51"), ("鄂", "湖北省", "42"), ("闽", "福建省", "35")]
MOBILE_PREFIXES = ["138", "139", "136", "135", "150", "158", "186", "189", "177", "199", "133", "185"]
SURNAMES = "王李张刘陈杨黄赵周吴徐孙马胡朱郭何林罗高"
WORDS = ["云端", "星河", "锦程", "远航", "博雅", "晨光", "青禾", "汇智", "鼎盛", "嘉禾", "华信", "精诚", "方圆", "瑞丰"]
TRADES = ["科技", "信息技术", "网络科技", "软件", "文化传播", "教育咨询", "电子商务", "数据服务"]

# kind -> share of sites
MIX = {
    "ok": 0.52, "ok_subject_number": 0.05, "ok_fullwidth": 0.03, "ok_spans": 0.03, "dead": 0.06, "hang": 0.04,
    "status_500": 0.03, "placeholder": 0.03, "offsite": 0.02, "number_missing": 0.03, "link_missing": 0.03,
    "link_wrong": 0.02, "mismatch": 0.02, "nxdomain": 0.03, "foreign": 0.02, "pending_live": 0.02,
    "huge": 0.01, "drip": 0.01,
}

PAGE_TEMPLATE = """<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{{ title }}</title>
<meta name="keywords" content="{{ title }},企业服务,软件开发"><link rel="stylesheet" href="/css/main.css"></head>
<body><header class="top"><nav class="nav"><a href="/">首页</a><a href="/about/">关于我们</a><a href="/product/">产品中心</a>
<a href="/news/">新闻动态</a><a href="/contact/">联系我们</a></nav></header>
<main><h1>{{ title }}</h1>
{% for i in range(items) %}<div class="item"><h3>{{ title }}动态第{{ i }}期：行业解决方案与服务升级</h3>
<p>我们持续为客户提供稳定可靠的信息化服务，本期介绍系统集成、数据治理、运维保障等方面的最新进展，欢迎联系我们了解详情。
项目团队在需求分析、方案设计、实施交付和售后支持各环节严格把控质量，确保项目按期高质量完成。</p>
<a href="/news/{{ i }}.html" class="more">查看详情</a></div>
{% endfor %}</main>
<footer class="footer"><p>地址：{{ address }} 电话：010-62345678</p>{{ footer }}</footer>
<script src="/js/jquery.min.js"></script><script>var _hmt=_hmt||[];</script></body></html>"""


def _uscc(rng: random.Random, region: str) -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    body = "91" + region + "".join(rng.choice("0123456789") for _ in range(4)) + "MA" + "".join(
        rng.choice(alphabet) for _ in range(7)
    )
    return body + uscc.calc_check_digit(body)


def _mobile(rng: random.Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + "".join(rng.choice("0123456789") for _ in range(8))


def _footer(kind: str, number: str, subject_number: str, company: str) -> str:
    linked = f'<a href="https://beian.miit.gov.cn/" target="_blank">{number}</a>'
    if kind == "ok_subject_number":
        return f"<p>© 2024 {company} <a href='https://beian.miit.gov.cn/'>{subject_number}</a></p>"
    if kind == "ok_fullwidth":
        wide = number.translate(str.maketrans("0123456789-", "０１２３４５６７８９－"))
        return f"<p>© 2024 {company} <a href='http://beian.miit.gov.cn'>{wide}</a></p>"
    if kind == "ok_spans":
        head, digits = number.split("备", 1)
        return (f"<p>{company}<a href='https://beian.miit.gov.cn/#/Integrated/recordQuery'><span>{head}备</span>"
                f"<span>{digits}</span></a> <span>京公网安备11010802030000号</span></p>")
    if kind == "number_missing":
        return f"<p>© 2024 {company} 版权所有</p>"
    if kind == "link_missing":
        return f"<p>© 2024 {company} {number}</p>"
    if kind == "link_wrong":
        return f"<p>© 2024 {company} <a href='http://www.miibeian.gov.cn/'>{number}</a></p>"
    if kind == "mismatch":
        return f"<p>© 2024 {company} <a href='https://beian.miit.gov.cn/'>{subject_number.replace('号', '9号')}-1</a></p>"
    return f"<p>© 2024 {company} 版权所有 {linked}</p>"


# A single-page app: the static HTML is a mount element and a bundle; the bundle builds the whole page.
SHELL_TEMPLATE = """<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{{ title }}</title>
<script type="module" crossorigin src="/assets/index-{{ build }}.js"></script></head><body><div id="app"></div></body></html>"""
BUNDLE_TEMPLATE = """{% set html %}<header class="top"><nav class="nav"><a href="/">首页</a><a href="/about/">关于我们</a>
<a href="/product/">产品中心</a></nav></header><main><h1>{{ title }}</h1>{% for i in range(items) %}<div class="item">
<h3>{{ title }}动态第{{ i }}期：行业解决方案与服务升级</h3><p>我们持续为客户提供稳定可靠的信息化服务，本期介绍系统集成、数据治理、
运维保障等方面的最新进展。</p></div>{% endfor %}</main><footer class="footer">{{ footer }}</footer>{% endset %}
const t={{ html|tojson }};function m(){document.getElementById("app").innerHTML=t}
document.readyState==="loading"?document.addEventListener("DOMContentLoaded",m):m();"""


def generate(sites: int, seed: int = 1, addresses: int = 64, page_kb: int = 30, app_shells: float = 0.0) -> dict:
    """`app_shells`: the share of compliant sites served as single-page apps (their footer exists only
    after the bundle runs), taken from the plain "ok" kind."""
    rng = random.Random(seed)
    mix = dict(MIX)
    if app_shells:
        mix["ok"] -= app_shells
        mix["app_shell"] = app_shells
    kinds = list(mix)
    weights = [mix[k] for k in kinds]
    provider = [f"127.10.{i // 250}.{i % 250 + 1}" for i in range(addresses)]
    items = max(1, page_kb * 1024 // 900)
    hosts: dict[str, dict] = {}
    subjects: list[dict] = []
    expected: list[dict] = []
    site_index = 0
    subject_index = 0
    while site_index < sites:
        subject_index += 1
        abbr, province, region = PROVINCES[subject_index % len(PROVINCES)]
        digits = f"{20000000 + subject_index:08d}" if subject_index % 3 else f"20{20000000 + subject_index:08d}"
        subject_number = f"{abbr}ICP备{digits}号"
        company = f"{province[:2]}{rng.choice(WORDS)}{rng.choice(TRADES)}有限公司"
        websites = []
        for seq in range(1, min(rng.choice((1, 1, 1, 2, 2, 3)), sites - site_index) + 1):
            site_index += 1
            kind = rng.choices(kinds, weights)[0]
            number = f"{subject_number}-{seq}"
            domain = f"s{site_index}-{rng.choice(('yun', 'data', 'soft', 'info', 'net'))}.cn"
            address = provider[site_index % len(provider)]
            title = f"{rng.choice(WORDS)}{rng.choice(TRADES)}官网"
            page = {"template": "page", "vars": {"title": title, "items": items, "address": f"{province}某区某路{site_index}号",
                                                  "footer": _footer(kind, number, subject_number, company)}}
            host: dict = {"a": [address]}
            status = "已备案"
            if kind.startswith("ok") or kind in ("number_missing", "link_missing", "link_wrong", "mismatch"):
                host["https" if site_index % 3 else "http"] = page
            elif kind == "app_shell":
                build = f"{site_index:08x}"
                host["https"] = {"template": "shell", "vars": {"title": title, "build": build}, "paths": {
                    f"/assets/index-{build}.js": {"template": "bundle", "vars": page["vars"],
                                                  "content_type": "application/javascript; charset=utf-8"}}}
            elif kind == "dead":
                pass
            elif kind == "hang":
                host["http"] = {"behaviour": "hang"}
            elif kind == "drip":
                host["http"] = {"behaviour": "drip", "page": "<html>" + "x" * 200, "drip_interval_s": 0.5}
            elif kind == "huge":
                host["https"] = {"behaviour": "huge", "huge_bytes": 20_000_000}
            elif kind == "status_500":
                host["web"] = {"status": 500, "page": "<h1>500 Internal Server Error</h1>"}
            elif kind == "placeholder":
                host["web"] = {"template": "nginx"}
            elif kind == "offsite":
                host["web"] = {"redirect": f"https://www.elsewhere-{site_index}.com/"}
            elif kind == "nxdomain":
                host = {"rcode": "nxdomain"}
            elif kind == "foreign":
                host = {"a": [f"127.20.0.{site_index % 200 + 1}"], "https": page}
            elif kind == "pending_live":
                status = "备案中"
                host["https"] = page
            hosts[domain] = host
            websites.append({"website_number": number, "name": title, "domains": [domain], "status": status,
                             "leader": {"name": rng.choice(SURNAMES) + "经理", "mobile": _mobile(rng)}})
            expected.append({"kind": kind, "website_number": number, "domain": domain})
        subjects.append({
            "subject_number": subject_number, "name": company, "nature": "企业",
            "certificate_type": "统一社会信用代码", "certificate_number": _uscc(rng, region), "province": province,
            "address": f"{province}某区某路{subject_index}号",
            "principal": {"name": rng.choice(SURNAMES) + "总", "mobile": _mobile(rng)},
            "customer_email": f"admin@s{subject_index}.example.cn", "websites": websites,
        })
    return {
        "name": f"generated-{sites}",
        "scanner": {
            "provider": {"name": "示例云", "ip_ranges": ["127.10.0.0/16"]},
            "fetch": {"allow_ranges": ["127.10.0.0/16", "127.20.0.0/16"], "only_ranges": ["127.0.0.0/8"]},
        },
        "templates": {
            "page": PAGE_TEMPLATE,
            "shell": SHELL_TEMPLATE,
            "bundle": BUNDLE_TEMPLATE,
            "nginx": "<html><head><title>Welcome to nginx!</title></head><body><h1>Welcome to nginx!</h1></body></html>",
        },
        "hosts": hosts,
        "registry": {"subjects": subjects},
        "expected": expected,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--addresses", type=int, default=64)
    parser.add_argument("--page-kb", type=int, default=30)
    parser.add_argument("--app-shells", type=float, default=0.0, help="share of sites that are single-page apps")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    world = generate(args.sites, args.seed, args.addresses, args.page_kb, args.app_shells)
    Path(args.out).write_text(json.dumps(world, ensure_ascii=False), encoding="utf-8")
    print(f"wrote {args.out}: {args.sites} sites, {len(world['registry']['subjects'])} subjects")


if __name__ == "__main__":
    main()
