"""A web farm for throughput benchmarks whose ceiling is the scanner, not the farm.

    python bench/farm.py --sites 5000 [--page-kb 40] [--latency] --dir DIR   # build and serve until Ctrl-C

What it serves:
- Debian's nginx (/usr/sbin/nginx), started with its own generated nginx.conf in the farm directory
  (`-p DIR -c nginx.conf`, `daemon off`, error log and pid file in DIR, `worker_processes 1` so the
  scanner keeps the other core, `access_log off`), listening on :80 and :443 (ssl) of ADDRESSES loopback
  aliases (127.30.0.1 … 127.30.0.64; all of 127.0.0.0/8 is on `lo`, nothing to configure). Each site's
  homepage is a static file, `root DIR/sites/$host`; each site has its own certificate, `ssl_certificate
  DIR/certs/$ssl_server_name.pem` (nginx loads it per handshake), issued by the farm's CA (`ca.pem`,
  given to the scanner as `fetch.extra_ca`), so `site.tls_invalid` has nothing to say, as on a healthy farm.
- Realistic homepages (≈ 40 KB, or `page_kb`): Chinese text, nav, news lists with varied headlines,
  product blocks and a footer with the filing number in the styles generate.py uses (linked website
  number, linked subject number, full-width digits, split in spans, unlinked, linked to the old domain).
  Every page shows a number, so no page asks for headless rendering (the benchmark runs `[render] off`).
- DNS: the sandbox's own DNS server (`beian sandbox up` on a world whose hosts have only A records, so the
  sandbox binds no web listener: World.web_addresses() is empty), and its RDAP server for the domain
  checks. The world's registry (generate.py's shape, valid phones and certificates) is written as
  `registry.json` for `beian registry import`.
- Latency mode (`--latency`; tc netem is not available on this kernel, nor iptables): of the sites,
  10 % resolve to HANG addresses (127.32.0.x), where the front process holds listening sockets it never
  accepts (the kernel completes the handshake until the backlog is full, then drops SYNs: nothing is
  ever answered); 5 % to REFUSE addresses (127.33.0.x) where nothing listens (RST); the rest to FRONT
  addresses (127.31.0.x): an asyncio TCP relay in its own process (`python -m bench.farm front`) that
  connects to the same port of the matching nginx address, relays the client's bytes at once, holds
  nginx's first byte until a random 50–300 ms after the accept, then relays plainly (TLS passes through
  to nginx's 443; the certificate is nginx's).

`Farm.cpu()` reads the CPU seconds of every farm process (nginx master and worker, the DNS/RDAP sandbox,
the front) from /proc, so a benchmark can say what the farm cost while each contender ran.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scanner.sandbox.generate import MOBILE_PREFIXES, PROVINCES, SURNAMES, TRADES, WORDS, _uscc  # noqa: E402
from scanner.sandbox.runner import to_toml  # noqa: E402

NGINX = "/usr/sbin/nginx"
ADDRESSES = 64
NGINX_NET, FRONT_NET, HANG_NET, REFUSE_NET = "127.30", "127.31", "127.32", "127.33"
RANGES = [f"{net}.0.0/16" for net in (NGINX_NET, FRONT_NET, HANG_NET, REFUSE_NET)]
HANG_SHARE, REFUSE_SHARE = 0.10, 0.05
DELAY_MS = (50, 300)

# footer style -> share of sites (every style shows a number)
FOOTERS = {"linked": 0.62, "subject": 0.10, "fullwidth": 0.06, "spans": 0.07, "unlinked": 0.08, "old_link": 0.07}

HEADLINES_A = ["关于", "热烈祝贺", "我司", "重磅", "深度解读", "聚焦", "喜讯", "行业观察", "公告", "走进"]
HEADLINES_B = ["数字化转型", "云计算平台", "数据中心", "智慧园区", "网络安全", "人工智能应用", "工业互联网",
               "电子政务", "智慧教育", "供应链管理", "大数据分析", "信息系统集成"]
HEADLINES_C = ["项目顺利验收", "荣获年度优秀服务商称号", "召开年度客户大会", "发布全新解决方案", "通过等级保护测评",
               "签署战略合作协议", "入选省级专精特新企业名单", "举办技术交流沙龙", "服务能力再上新台阶"]
PARAGRAPHS = [
    "我们持续为客户提供稳定可靠的信息化服务，本期介绍系统集成、数据治理、运维保障等方面的最新进展，欢迎联系我们了解详情。",
    "项目团队在需求分析、方案设计、实施交付和售后支持各环节严格把控质量，确保项目按期高质量完成。",
    "公司坚持以客户为中心，以技术创新为驱动，为政府、教育、医疗、制造等行业客户提供一站式解决方案。",
    "近日，公司技术中心完成了新一代平台的升级改造，系统性能提升百分之四十，运维成本显著下降。",
    "本次活动吸引了来自全省各地的百余家企业代表参加，与会嘉宾围绕行业发展趋势展开了深入交流。",
    "我们建立了覆盖全国的服务网络，提供七乘二十四小时技术支持，快速响应客户的各类服务需求。",
]
NAV = ["首页", "关于我们", "产品中心", "解决方案", "新闻动态", "成功案例", "服务支持", "人才招聘", "联系我们"]


@dataclass(frozen=True)
class Site:
    domain: str
    address: str  # what DNS answers
    nginx: str  # the nginx alias that serves it (the front relays to it)
    number: str  # website filing number
    footer: str


def nginx_address(i: int) -> str:
    return f"{NGINX_NET}.{i // 250}.{i % 250 + 1}"


def _alias(net: str, i: int) -> str:
    return f"{net}.{i // 250}.{i % 250 + 1}"


# -- pages ---------------------------------------------------------------------------------------------------

def footer_html(style: str, number: str, subject_number: str, company: str) -> str:
    if style == "subject":
        return f'<a href="https://beian.miit.gov.cn/" target="_blank" rel="nofollow">{subject_number}</a>'
    if style == "fullwidth":
        wide = number.translate(str.maketrans("0123456789-", "０１２３４５６７８９－"))
        return f"<a href='http://beian.miit.gov.cn'>{wide}</a>"
    if style == "spans":
        head, digits = number.split("备", 1)
        return (f"<a href='https://beian.miit.gov.cn/#/Integrated/recordQuery'><span>{head}备</span><span>{digits}</span>"
                f"</a> <img src='/img/ga.png' alt=''><span>京公网安备1101080203{len(company) * 37 % 10000:04d}号</span>")
    if style == "unlinked":
        return f"<span class='icp'>{number}</span>"
    if style == "old_link":
        return f"<a href='http://www.miibeian.gov.cn/' target='_blank'>{number}</a>"
    return f'<a href="https://beian.miit.gov.cn/" target="_blank">{number}</a>'


def page_html(rng: random.Random, *, title: str, company: str, address: str, footer: str, page_kb: int) -> str:
    """A homepage of about `page_kb` KB (UTF-8): head, nav, banner, news lists, products, footer."""
    nav = "".join(f'<li><a href="/{i}/">{name}</a></li>' for i, name in enumerate(NAV[: rng.randint(6, len(NAV))]))
    head = (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" '
            f'content="width=device-width, initial-scale=1"><title>{title} - {company}</title>'
            f'<meta name="keywords" content="{title},{rng.choice(TRADES)},企业服务,软件开发">'
            f'<meta name="description" content="{company}官方网站，提供{rng.choice(HEADLINES_B)}等服务。">'
            '<link rel="stylesheet" href="/static/css/style.css"><script src="/static/js/jquery.min.js"></script>'
            f'</head><body><div class="topbar"><span>欢迎访问{company}官网！</span><span>服务热线：400-{rng.randint(100, 999)}'
            f'-{rng.randint(1000, 9999)}</span></div><header class="header"><a class="logo" href="/"><img src="/static/img/'
            f'logo.png" alt="{company}"></a><nav class="nav"><ul>{nav}</ul></nav></header>'
            f'<div class="banner"><h1>{title}</h1><p>{rng.choice(PARAGRAPHS)}</p></div><main class="main">')
    foot = (f'</main><footer class="footer"><div class="links">友情链接：<a href="https://www.gov.cn/">中国政府网</a> '
            f'<a href="/sitemap.xml">网站地图</a></div><p>地址：{address} 电话：0{rng.randint(10, 999)}-'
            f'{rng.randint(10000000, 99999999)} 邮箱：service@{company[:2]}.example.cn</p><p>Copyright © 2015-2026 '
            f'{company} 版权所有 {footer}</p></footer><script>var _hmt=_hmt||[];(function(){{var hm=document.createElement'
            '("script");hm.src="https://hm.baidu.com/hm.js";})();</script></body></html>')
    target = page_kb * 1024 - len(head.encode()) - len(foot.encode())
    parts: list[str] = []
    size, section = 0, 0
    while size < target:
        section += 1
        if section % 4 == 0:
            block = '<section class="products"><h2>产品中心</h2><ul>' + "".join(
                f'<li><a href="/product/{section}{k}.html"><img src="/static/img/p{k}.jpg" alt=""><h4>{rng.choice(WORDS)}'
                f'{rng.choice(HEADLINES_B)}系统</h4><p>{rng.choice(PARAGRAPHS)}</p></a></li>' for k in range(4)) + "</ul></section>"
        else:
            items = "".join(
                f'<li><a href="/news/{section}{k}.html" title="">{rng.choice(HEADLINES_A)}{rng.choice(HEADLINES_B)}'
                f'{rng.choice(HEADLINES_C)}</a><span class="date">2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}'
                f'</span><p>{rng.choice(PARAGRAPHS)}{rng.choice(PARAGRAPHS)}</p></li>' for k in range(rng.randint(4, 8)))
            block = f'<section class="news"><h2>{rng.choice(["新闻动态", "行业资讯", "公司公告", "技术文章"])}</h2><ul>{items}</ul></section>'
        grown = len(block.encode())
        if parts and size + grown // 2 > target:
            break  # pages average about page_kb
        parts.append(block)
        size += grown
    return head + "".join(parts) + foot


# -- the world -----------------------------------------------------------------------------------------------

def build_sites(sites: int, *, latency: bool, seed: int = 7, addresses: int = ADDRESSES) -> tuple[list[Site], dict]:
    """The sites and the registry (CONTRACT §2) for them; `latency` routes DNS through the front."""
    rng = random.Random(seed)
    route = random.Random(seed + 2)  # its own stream: both modes have the same sites, pages and registry
    styles, weights = list(FOOTERS), list(FOOTERS.values())
    result: list[Site] = []
    subjects: list[dict] = []
    index = subject_index = 0
    while index < sites:
        subject_index += 1
        abbr, province, region = PROVINCES[subject_index % len(PROVINCES)]
        subject_number = f"{abbr}ICP备{30000000 + subject_index:08d}号"
        company = f"{province[:2]}{rng.choice(WORDS)}{rng.choice(TRADES)}有限公司"
        websites = []
        for seq in range(1, min(rng.choice((1, 1, 1, 2, 2, 3)), sites - index) + 1):
            i = index
            index += 1
            number = f"{subject_number}-{seq}"
            domain = f"s{index}-{rng.choice(('yun', 'data', 'soft', 'info', 'net'))}.cn"
            slot = i % addresses
            address = nginx_address(slot)
            if latency:
                roll = route.random()
                net = HANG_NET if roll < HANG_SHARE else REFUSE_NET if roll < HANG_SHARE + REFUSE_SHARE else FRONT_NET
                address = _alias(net, slot)
            style = rng.choices(styles, weights)[0]
            result.append(Site(domain, address, nginx_address(slot), number,
                               footer_html(style, number, subject_number, company)))
            websites.append({"website_number": number, "name": f"{rng.choice(WORDS)}{rng.choice(TRADES)}官网",
                             "domains": [domain], "status": "已备案", "service_content": "其他",
                             "leader": {"name": rng.choice(SURNAMES) + "经理", "mobile": _mobile(rng)}})
        subjects.append({
            "subject_number": subject_number, "name": company, "nature": "企业",
            "certificate_type": "统一社会信用代码", "certificate_number": _uscc(rng, region), "province": province,
            "address": f"{province}某区某路{subject_index}号",
            "principal": {"name": rng.choice(SURNAMES) + "总", "mobile": _mobile(rng)},
            "customer_email": f"admin@s{subject_index}.example.cn", "websites": websites,
        })
    return result, {"subjects": subjects}


def _mobile(rng: random.Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + "".join(rng.choice("0123456789") for _ in range(8))


def world_for(sites: list[Site], registry: dict) -> dict:
    """A sandbox world: A records only (no web specs, so `sandbox up` binds no web listener)."""
    hosts: dict[str, dict] = {}
    for site in sites:
        hosts[site.domain] = {"a": [site.address]}
        hosts["www." + site.domain] = {"a": [site.address]}
    return {
        "name": f"farm-{len(sites)}",
        "scanner": {"provider": {"name": "示例云", "ip_ranges": RANGES},
                    "fetch": {"allow_ranges": RANGES, "only_ranges": ["127.0.0.0/8"]}},
        "hosts": hosts,
        "registry": registry,
    }


# -- certificates ----------------------------------------------------------------------------------------------

def write_certificates(directory: Path, names: list[str]) -> Path:
    """A farm CA (ca.pem) and one leaf per site (certs/<name>.pem: certificate then key; one key for all leaves,
    so that 5,000 certificates take seconds). Returns the CA file."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "beian-scanner bench farm CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
          .not_valid_after(now + dt.timedelta(days=3650))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    key_pem = leaf_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())
    certs = directory / "certs"
    certs.mkdir(parents=True, exist_ok=True)
    for name in names:
        cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
                .issuer_name(ca_name).public_key(leaf_key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=365))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(name), x509.DNSName("www." + name)]),
                               critical=False)
                .sign(ca_key, hashes.SHA256()))
        pem = cert.public_bytes(serialization.Encoding.PEM)
        (certs / f"{name}.pem").write_bytes(pem + key_pem)
    default = directory / "ca-leaf.pem"  # the default server's certificate (a client without SNI)
    default.write_bytes((certs / f"{names[0]}.pem").read_bytes())
    path = directory / "ca.pem"
    path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return path


# -- nginx -----------------------------------------------------------------------------------------------------

def nginx_conf(directory: Path, sites: list[Site]) -> str:
    """nginx.conf for the farm: everything under `directory`, nothing from the system's configuration; one
    server block per site (as a shared-hosting panel writes them), on the site's nginx address, with its own
    certificate loaded once at start (a variable `ssl_certificate` would parse the PEM on every handshake,
    which with OpenSSL 3 costs nginx milliseconds per site)."""
    d = str(directory)
    listen = sorted({s.nginx for s in sites}, key=lambda a: tuple(int(x) for x in a.split(".")))
    defaults = "\n".join(f"        listen {a}:80 default_server backlog=4096;\n"
                         f"        listen {a}:443 ssl default_server backlog=4096;" for a in listen)
    blocks = "\n".join(
        f"    server {{ listen {s.nginx}:80; listen {s.nginx}:443 ssl; server_name {s.domain} www.{s.domain}; "
        f"root {d}/sites/{s.domain}; ssl_certificate {d}/certs/{s.domain}.pem; "
        f"ssl_certificate_key {d}/certs/{s.domain}.pem; }}" for s in sites)
    return f"""# generated by bench/farm.py
daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
worker_rlimit_nofile 16384;
events {{
    worker_connections 8192;
}}
http {{
    access_log off;
    types {{ text/html html; text/css css; application/javascript js; }}
    default_type application/octet-stream;
    charset utf-8;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 15;
    server_tokens off;
    server_names_hash_max_size 262144;
    server_names_hash_bucket_size 128;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    ssl_protocols TLSv1.2 TLSv1.3;
    index index.html;
    server {{
{defaults}
        server_name _;
        ssl_certificate {d}/ca-leaf.pem;
        ssl_certificate_key {d}/ca-leaf.pem;
        return 404;
    }}
{blocks}
}}
"""


# -- the farm --------------------------------------------------------------------------------------------------

class FarmError(Exception):
    pass


def _cpu_s(pid: int) -> float:
    """utime + stime of one process (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def _die_with_parent() -> None:
    """In a farm child (preexec_fn): SIGTERM when the benchmark that started it dies, so no farm outlives it."""
    import ctypes

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _wait_port(address: str, port: int, process: subprocess.Popen, what: str, bound_s: float = 60.0) -> None:
    deadline = time.monotonic() + bound_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise FarmError(f"{what} exited with {process.returncode}")
        try:
            with socket.create_connection((address, port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise FarmError(f"{what} does not listen on {address}:{port} after {bound_s:.0f} s")


class Farm:
    """Build (once per directory and parameters) and run the farm: nginx, DNS/RDAP, and the latency front."""

    def __init__(self, directory: str | Path, sites: int, *, page_kb: int = 40, latency: bool = False,
                 addresses: int = ADDRESSES, seed: int = 7) -> None:
        self.dir = Path(directory).resolve()
        self.sites_n, self.page_kb, self.latency, self.addresses, self.seed = sites, page_kb, latency, addresses, seed
        self.processes: dict[str, subprocess.Popen] = {}
        self.sandbox_config: dict = {}
        self.sites: list[Site] = []

    # paths
    @property
    def mode_dir(self) -> Path:
        return self.dir / ("latency" if self.latency else "plain")

    @property
    def registry(self) -> Path:
        return self.mode_dir / "registry.json"

    @property
    def domains(self) -> Path:
        return self.mode_dir / "domains.txt"

    @property
    def ca(self) -> Path:
        return self.dir / "ca.pem"

    def build(self) -> None:
        """Pages, certificates and nginx.conf (shared by both modes), the world and registry per mode."""
        stamp = {"version": 2, "sites": self.sites_n, "page_kb": self.page_kb, "addresses": self.addresses, "seed": self.seed}
        stamp_file = self.dir / "farm.json"
        self.sites, registry = build_sites(self.sites_n, latency=self.latency, seed=self.seed, addresses=self.addresses)
        fresh = not stamp_file.exists() or json.loads(stamp_file.read_text()) != stamp
        if fresh:
            self.dir.mkdir(parents=True, exist_ok=True)
            stamp_file.unlink(missing_ok=True)
            rng = random.Random(self.seed + 1)
            subjects = {w["website_number"]: s for s in registry["subjects"] for w in s["websites"]}
            for site in self.sites:
                subject = subjects[site.number]
                html = page_html(rng, title=f"{rng.choice(WORDS)}{rng.choice(TRADES)}", company=subject["name"],
                                 address=subject["address"], footer=site.footer, page_kb=self.page_kb)
                folder = self.dir / "sites" / site.domain
                folder.mkdir(parents=True, exist_ok=True)
                (folder / "index.html").write_text(html, encoding="utf-8")
            if (self.dir / "certs").exists():
                subprocess.run(["rm", "-rf", str(self.dir / "certs")], check=True)
            write_certificates(self.dir, [s.domain for s in self.sites])
            for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
                (self.dir / "tmp" / sub).mkdir(parents=True, exist_ok=True)
            (self.dir / "nginx.conf").write_text(nginx_conf(self.dir, self.sites), encoding="utf-8")
            stamp_file.write_text(json.dumps(stamp))
        self.mode_dir.mkdir(parents=True, exist_ok=True)
        (self.mode_dir / "world.json").write_text(json.dumps(world_for(self.sites, registry), ensure_ascii=False),
                                                  encoding="utf-8")
        self.registry.write_text(json.dumps(registry, ensure_ascii=False), encoding="utf-8")
        self.domains.write_text("\n".join(s.domain for s in self.sites) + "\n", encoding="utf-8")

    def start(self, lifetime_s: float = 6 * 3600) -> Farm:
        if not self.sites:
            self.build()
        try:
            self._start_nginx()
            if self.latency:
                self._start_front()
            self._start_dns()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_nginx(self) -> None:
        test = subprocess.run([NGINX, "-t", "-q", "-p", str(self.dir), "-c", str(self.dir / "nginx.conf")],
                              capture_output=True, text=True)
        if test.returncode != 0:
            raise FarmError(f"nginx -t: {test.stderr.strip()[-1000:]}")
        nginx = subprocess.Popen([NGINX, "-p", str(self.dir), "-c", str(self.dir / "nginx.conf")],
                                 stdout=subprocess.DEVNULL, stderr=open(self.dir / "nginx.stderr", "w"),
                                 preexec_fn=_die_with_parent)
        self.processes["nginx"] = nginx
        _wait_port(nginx_address(self.addresses - 1), 443, nginx, "nginx")

    def _start_front(self) -> None:
        front = subprocess.Popen([sys.executable, "-m", "bench.farm", "front", "--addresses", str(self.addresses)],
                                 cwd=ROOT, stdout=subprocess.DEVNULL, stderr=open(self.mode_dir / "front.stderr", "w"),
                                 preexec_fn=_die_with_parent)
        self.processes["front"] = front
        _wait_port(_alias(FRONT_NET, self.addresses - 1), 443, front, "the latency front")

    def _start_dns(self) -> None:
        out = self.mode_dir / "sandbox.toml"
        out.unlink(missing_ok=True)
        sandbox = subprocess.Popen(
            [sys.executable, "-m", "scanner.cli", "sandbox", "up", str(self.mode_dir / "world.json"), "--config-out",
             str(out), "--lifetime", str(6 * 3600)],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=open(self.mode_dir / "sandbox.stderr", "w"),
            preexec_fn=_die_with_parent)
        self.processes["dns"] = sandbox
        deadline = time.monotonic() + 300
        while not out.exists():
            if sandbox.poll() is not None:
                raise FarmError(f"sandbox up exited: {(self.mode_dir / 'sandbox.stderr').read_text()[-1500:]}")
            if time.monotonic() > deadline:
                raise FarmError("sandbox up: no config after 300 s")
            time.sleep(0.1)
        time.sleep(0.2)  # written in one call, but let it land
        self.sandbox_config = tomllib.loads(out.read_text(encoding="utf-8"))

    def config(self, database: str, **fetch) -> dict:
        """A scanner config (TOML-shaped dict): the sandbox's DNS and RDAP, the farm's CA, rendering off."""
        data = json.loads(json.dumps(self.sandbox_config))
        data["database"] = database
        data["fetch"]["extra_ca"] = str(self.ca)
        data["fetch"].update({k: v for k, v in fetch.items() if v is not None})
        data.setdefault("render", {})["enabled"] = "off"
        return data

    def write_config(self, path: Path, database: str, **fetch) -> Path:
        path.write_text(to_toml(self.config(database, **fetch)), encoding="utf-8")
        return path

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far of each farm process (nginx: master and workers)."""
        result = {}
        for name, process in self.processes.items():
            pids = [process.pid, *_children(process.pid)] if name == "nginx" else [process.pid]
            result[name] = sum(_cpu_s(pid) for pid in pids)
        return result

    def stop(self) -> None:
        for name, process in reversed(list(self.processes.items())):
            if process.poll() is None:
                process.send_signal(signal.SIGQUIT if name == "nginx" else signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        self.processes.clear()

    def __enter__(self) -> Farm:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# -- the latency front (its own process) -------------------------------------------------------------------------

async def _relay(reader, writer) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            writer.close()
        except Exception:  # noqa: BLE001 - closing best effort
            pass


async def _front_connection(upstream: str, port: int, rng: random.Random, reader, writer) -> None:
    import asyncio

    started = asyncio.get_running_loop().time()
    delay = rng.uniform(*DELAY_MS) / 1000
    try:
        up_reader, up_writer = await asyncio.open_connection(upstream, port)
    except OSError:
        writer.close()
        return
    to_upstream = asyncio.ensure_future(_relay(reader, up_writer))
    try:
        first = await up_reader.read(65536)
        if first:
            wait = started + delay - asyncio.get_running_loop().time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(first)
            await writer.drain()
            await _relay(up_reader, writer)
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()
        up_writer.close()
        to_upstream.cancel()


def run_front(addresses: int, seed: int = 11) -> None:
    """Relays on FRONT aliases to nginx with a 50–300 ms first byte; listening sockets never accepted on HANG
    aliases. Until SIGTERM."""
    import asyncio

    rng = random.Random(seed)
    held: list[socket.socket] = []

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        for i in range(addresses):
            for port in (80, 443):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((_alias(HANG_NET, i), port))
                sock.listen(4096)  # never accepted
                held.append(sock)
        servers = []
        for i in range(addresses):
            for port in (80, 443):
                upstream = nginx_address(i)
                servers.append(await asyncio.start_server(
                    lambda r, w, u=upstream, p=port: _front_connection(u, p, rng, r, w),
                    _alias(FRONT_NET, i), port, reuse_address=True, backlog=4096))
        await stop.wait()
        for server in servers:
            server.close()

    asyncio.run(main())
    for sock in held:
        sock.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    front = sub.add_parser("front", help="(internal) the latency front")
    front.add_argument("--addresses", type=int, default=ADDRESSES)
    parser.add_argument("--sites", type=int, default=5000)
    parser.add_argument("--page-kb", type=int, default=40)
    parser.add_argument("--latency", action="store_true")
    parser.add_argument("--dir", required=False, help="farm directory (default: a new temporary one)")
    args = parser.parse_args()
    if args.command == "front":
        run_front(args.addresses)
        return
    import tempfile

    farm = Farm(args.dir or tempfile.mkdtemp(prefix="beian-farm-"), args.sites, page_kb=args.page_kb,
                latency=args.latency)
    farm.build()
    with farm:
        config = farm.write_config(farm.mode_dir / "scan.toml", f"sqlite:///{farm.mode_dir / 'bench.db'}")
        print(f"farm up in {farm.dir}: {args.sites} sites; config {config}; registry {farm.registry}; Ctrl-C stops it")
        try:
            while all(p.poll() is None for p in farm.processes.values()):
                time.sleep(1)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
