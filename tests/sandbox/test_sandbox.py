"""The sandbox, checked with independent clients (dnspython, http.client/ssl, ipwhois, smtplib)."""

from __future__ import annotations

import gzip
import http.client
import json
import smtplib
import socket
import ssl
import time
import urllib.request
from email.message import EmailMessage

import dns.exception
import dns.resolver
import pytest
from ipwhois.net import Net
from ipwhois.rdap import RDAP

from scanner.sandbox import Sandbox, SandboxError, WorldError
from scanner.sandbox.world import parse_world

WORLD = {
    "name": "unit",
    "templates": {"corp": "<html><body>{{ name }} <a href='https://beian.miit.gov.cn/'>{{ number }}</a></body></html>"},
    "rdap": [{"prefix": "45.76.0.0/16", "name": "VULTR-NET", "owner": "Vultr Holdings, LLC", "asn": 20473,
              "country": "US"}],
    "hosts": {
        "www.shop.cn": {"a": ["127.42.0.1"], "https": {"template": "corp", "vars": {"name": "商城", "number": "京ICP备12345678号-1"}},
                        "http": {"redirect": "https://www.shop.cn/"}},
        "shop.cn": {"cname": "www.shop.cn"},
        "cdn.shop.cn": {"cname": "shop.cn.cdn.examplecloud.cn"},
        "shop.cn.cdn.examplecloud.cn": {"cname": "edge.examplecloud.cn"},
        "edge.examplecloud.cn": {"a": ["127.42.0.2", "127.42.0.3"], "aaaa": ["::1"]},
        "gbk.cn": {"a": ["127.42.0.1"], "http": {"page": "<html><meta charset=gbk><p>粤ICP备2021012345号</p></html>", "charset": "gbk"}},
        "hang.cn": {"a": ["127.42.0.1"], "http": {"behaviour": "hang"}},
        "drip.cn": {"a": ["127.42.0.1"], "http": {"page": "abcdef", "behaviour": "drip", "drip_interval_s": 0.2}},
        "reset.cn": {"a": ["127.42.0.1"], "http": {"behaviour": "reset"}},
        "huge.cn": {"a": ["127.42.0.1"], "http": {"behaviour": "huge", "huge_bytes": 5000000}},
        "zip.cn": {"a": ["127.42.0.1"], "http": {"page": "压缩的页面", "gzip": True}},
        "bomb.cn": {"a": ["127.42.0.1"], "http": {"behaviour": "gzip_bomb", "huge_bytes": 20000000}},
        "gone.cn": {"a": ["127.42.0.1"], "http": {"status": 503, "page": "down"}},
        "nx.cn": {"rcode": "nxdomain"},
        "fail.cn": {"rcode": "servfail"},
        "slow.cn": {"a": ["127.42.0.1"], "delay_s": 0.6},
        "silent.cn": {"a": ["127.42.0.1"], "drop": True},
        "abroad.cn": {"a": ["45.76.1.2"]},
        "例子.中国": {"a": ["127.42.0.4"], "http": {"page": "idn"}},
    },
}


@pytest.fixture(scope="module")
def box():
    with Sandbox(parse_world(WORLD), lifetime_s=300) as sandbox:
        yield sandbox


def resolver(box, timeout=2.0) -> dns.resolver.Resolver:
    r = dns.resolver.Resolver(configure=False)
    r.nameservers = ["127.0.0.1"]
    r.port = box.dns_port
    r.lifetime = timeout
    return r


def get(address, host, path="/", port=80, timeout=3.0):
    conn = http.client.HTTPConnection(address, port, timeout=timeout)
    conn.request("GET", path, headers={"Host": host})
    response = conn.getresponse()
    return response, response.read()


def test_dns_addresses_and_full_cname_chain(box):
    r = resolver(box)
    assert [a.address for a in r.resolve("www.shop.cn", "A")] == ["127.42.0.1"]
    answer = r.resolve("cdn.shop.cn", "A")
    chain = [rrset.name.to_text() for rrset in answer.response.answer]
    assert chain == ["cdn.shop.cn.", "shop.cn.cdn.examplecloud.cn.", "edge.examplecloud.cn."]
    assert sorted(a.address for a in answer) == ["127.42.0.2", "127.42.0.3"]
    assert answer.canonical_name.to_text() == "edge.examplecloud.cn."
    assert [a.address for a in r.resolve("cdn.shop.cn", "AAAA")] == ["::1"]
    assert [a.address for a in r.resolve("xn--fsqu00a.xn--fiqs8s", "A")] == ["127.42.0.4"]


def test_dns_errors_and_delays(box):
    r = resolver(box)
    with pytest.raises(dns.resolver.NXDOMAIN):
        r.resolve("nx.cn", "A")
    with pytest.raises(dns.resolver.NXDOMAIN):
        r.resolve("not-in-world.cn", "A")
    with pytest.raises(dns.resolver.NoNameservers):  # SERVFAIL from the only server
        r.resolve("fail.cn", "A")
    with pytest.raises(dns.resolver.NoAnswer):
        r.resolve("www.shop.cn", "AAAA")
    started = time.monotonic()
    assert [a.address for a in r.resolve("slow.cn", "A")] == ["127.42.0.1"]
    assert time.monotonic() - started >= 0.55
    with pytest.raises(dns.exception.Timeout):
        resolver(box, timeout=0.5).resolve("silent.cn", "A")


def test_dns_over_tcp(box):
    r = resolver(box)
    answer = r.resolve("cdn.shop.cn", "A", tcp=True)
    assert sorted(a.address for a in answer) == ["127.42.0.2", "127.42.0.3"]


def test_http_routes_by_host_and_charset(box):
    response, body = get("127.42.0.1", "gbk.cn")
    assert response.status == 200 and response.getheader("Content-Type") == "text/html; charset=gbk"
    assert body.decode("gbk").count("粤ICP备2021012345号") == 1
    response, _ = get("127.42.0.1", "www.shop.cn")
    assert response.status == 301 and response.getheader("Location") == "https://www.shop.cn/"
    response, body = get("127.42.0.1", "gone.cn")
    assert response.status == 503 and body == b"down"
    response, _ = get("127.42.0.1", "gbk.cn", "/missing")
    assert response.status == 404


def test_https_with_sandbox_ca_and_sni(box, tmp_path):
    context = ssl.create_default_context(cafile=str(box.write_ca(tmp_path / "ca.pem")))
    with socket.create_connection(("127.42.0.1", 443), timeout=3) as raw:
        with context.wrap_socket(raw, server_hostname="www.shop.cn") as tls:
            tls.sendall(b"GET / HTTP/1.1\r\nHost: www.shop.cn\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := tls.recv(65536):
                data += chunk
    assert data.startswith(b"HTTP/1.1 200")
    assert "京ICP备12345678号-1" in data.decode("utf-8")
    # a host without https fails the handshake, as a server without that certificate would
    with socket.create_connection(("127.42.0.1", 443), timeout=3) as raw:
        with pytest.raises(ssl.SSLError):
            context.wrap_socket(raw, server_hostname="gbk.cn")


def test_hang_really_hangs_until_client_timeout(box):
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        get("127.42.0.1", "hang.cn", timeout=1.0)
    assert time.monotonic() - started >= 0.95


def test_drip_really_drips(box):
    conn = http.client.HTTPConnection("127.42.0.1", 80, timeout=5)
    conn.request("GET", "/", headers={"Host": "drip.cn"})
    response = conn.getresponse()
    started = time.monotonic()
    assert response.read(1) == b"a"
    assert response.read() == b"bcdef"
    assert time.monotonic() - started >= 0.8  # five more bytes, 0.2 s apart


def test_reset_and_unknown_host(box):
    with pytest.raises((ConnectionResetError, http.client.RemoteDisconnected)):
        get("127.42.0.1", "reset.cn")
    with pytest.raises((ConnectionResetError, http.client.RemoteDisconnected)):
        get("127.42.0.1", "nobody-home.cn")


def test_huge_and_gzip(box):
    response, body = get("127.42.0.1", "huge.cn", timeout=10)
    assert int(response.getheader("Content-Length")) == 5000000 and len(body) == 5000000
    response, body = get("127.42.0.1", "zip.cn")
    assert response.getheader("Content-Encoding") == "gzip"
    assert gzip.decompress(body).decode("utf-8") == "压缩的页面"
    response, body = get("127.42.0.1", "bomb.cn")
    assert len(body) < 200000 < len(gzip.decompress(body)) >= 19000000


def test_keep_alive_serves_several_requests(box):
    conn = http.client.HTTPConnection("127.42.0.1", 80, timeout=3)
    for _ in range(3):
        conn.request("GET", "/", headers={"Host": "gbk.cn"})
        assert conn.getresponse().read()


def test_rdap_parses_with_ipwhois(box):
    with urllib.request.urlopen(f"{box.rdap_url}/ip/45.76.1.2", timeout=3) as resp:
        assert resp.headers["Content-Type"] == "application/rdap+json"
        payload = json.loads(resp.read())
    result = RDAP(Net("45.76.1.2")).lookup(response=payload, asn_data={"asn_registry": "arin"}, root_ent_check=False)
    assert result["network"]["name"] == "VULTR-NET"
    assert result["network"]["cidr"] == "45.76.0.0/16"
    owner = result["objects"]["NET-45.76.0.0-16-ORG"]["contact"]["name"]
    assert owner == "Vultr Holdings, LLC"
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(f"{box.rdap_url}/ip/46.1.2.3", timeout=3)
    assert info.value.code == 404


def test_smtp_capture_keeps_utf8_chinese_intact(box):
    message = EmailMessage()
    message["From"] = "示例云备案 <beian@examplecloud.cn>"
    message["To"] = "ops@example.cn"
    message["Subject"] = "【备案核查】请于 2026-12-08 18:00 前完成整改"
    message.set_content("您好，您的网站首页未展示备案号。")
    host, port = box.smtp_url.split("//")[1].split(":")
    with smtplib.SMTP(host, int(port), timeout=5) as client:
        client.send_message(message)
    got = box.smtp.messages[-1].message()
    assert got["Subject"] == "【备案核查】请于 2026-12-08 18:00 前完成整改"
    assert got.get_content().strip() == "您好，您的网站首页未展示备案号。"
    assert box.smtp.messages[-1].rcpt_tos == ["ops@example.cn"]


def test_config_points_at_sandbox(box):
    import tomllib

    from core.config import parse_config
    from scanner.sandbox.runner import to_toml

    config = parse_config(tomllib.loads(to_toml(box.config("sqlite:///x.db"))))
    assert config.dns.nameservers == (("127.0.0.1", box.dns_port),)
    assert config.ownership.rdap_url == box.rdap_url


def test_bad_world_and_busy_port():
    with pytest.raises(WorldError, match=r"hosts\[x.cn\].http.behaviour"):
        parse_world({"hosts": {"x.cn": {"a": ["127.0.0.9"], "http": {"behaviour": "explode"}}}})
    with pytest.raises(WorldError, match=r"hosts\[x.cn\].a"):
        parse_world({"hosts": {"x.cn": {"a": ["not-an-ip"]}}})
    with pytest.raises(SandboxError, match="only listens on loopback"):
        Sandbox(parse_world({"hosts": {}}), extra_addresses=("10.0.0.1",))
    blocker = socket.socket()
    blocker.bind(("127.42.9.9", 80))
    blocker.listen()
    try:
        world = parse_world({"hosts": {"b.cn": {"a": ["127.42.9.9"], "http": "x"}}})
        with pytest.raises(SandboxError, match=r"cannot listen on 127.42.9.9:80"):
            Sandbox(world).start()
    finally:
        blocker.close()


def test_sandbox_up_prints_config_and_stops_on_ctrl_c(tmp_path):
    import signal
    import subprocess
    import sys

    world = tmp_path / "w.yaml"
    world.write_text("name: tiny\nhosts:\n  up.cn: {a: [127.43.0.1], http: {page: hello}}\n", encoding="utf-8")
    config = tmp_path / "out.toml"
    process = subprocess.Popen([sys.executable, "-m", "scanner.cli", "sandbox", "up", str(world), "--config-out",
                                str(config), "--maildir", str(tmp_path / "mail")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while not config.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    response, body = get("127.43.0.1", "up.cn")
    assert body == b"hello"
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert "nameservers = [\"127.0.0.1:" in out and "rdap_url" in out and "sandbox stopped" in out
    assert (tmp_path / "mail" / "new").is_dir()
