from __future__ import annotations

import ipaddress

import pytest

from core.config import ConfigError, load_config, parse_config
from scanner.cli import main


def test_defaults_when_no_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BEIAN_CONFIG", raising=False)
    config = load_config()
    assert config.database == "sqlite:///beian.db"
    assert config.deadlines.working_days == 10


def test_full_contract_example_parses(tmp_path):
    path = tmp_path / "beian.toml"
    path.write_text(
        """
database = "sqlite:///x.db"
[provider]
name = "示例云"
code = "002"
ip_ranges = ["203.0.113.0/24", "198.51.100.0/24 HK", {cidr = "2001:db8::/32", region = "CN"}]
cdn_cname_suffixes = ["cdn.examplecloud.cn"]
[dns]
nameservers = ["198.51.100.53", "127.0.0.1:5353", "[::1]:5300"]
timeout_s = 3
[fetch]
timeout_s = 10
allow_ranges = ["127.0.0.0/8"]
[ownership]
rdap_url = "http://127.0.0.1:8080/rdap/"
[notices]
smtp_url = "smtp://127.0.0.1:2525"
sender = "beian@examplecloud.cn"
[deadlines]
working_days = 10
""",
        encoding="utf-8",
    )
    config = load_config(path)
    assert [r.region for r in config.provider.ip_ranges] == ["CN", "HK", "CN"]
    assert config.dns.nameservers == (("198.51.100.53", 53), ("127.0.0.1", 5353), ("::1", 5300))
    assert config.fetch.allow_ranges == (ipaddress.ip_network("127.0.0.0/8"),)
    assert config.ownership.rdap_url == "http://127.0.0.1:8080/rdap"


@pytest.mark.parametrize(
    "data, key",
    [
        ({"bogus": 1}, "bogus"),
        ({"fetch": {"timeout_s": -1}}, "fetch.timeout_s"),
        ({"fetch": {"allow_ranges": ["10.0.0.0/33"]}}, "fetch.allow_ranges[0]"),
        ({"provider": {"ip_ranges": ["not-a-cidr"]}}, "provider.ip_ranges[0]"),
        ({"ownership": {"rdap_url": "ftp://x"}}, "ownership.rdap_url"),
        ({"notices": {"smtp_url": "http://x"}}, "notices.smtp_url"),
        ({"dns": {"nameservers": ["dns.example:53"]}}, "dns.nameservers[0]"),
        ({"dns": {"colour": "red"}}, "dns.colour"),
        ({"deadlines": {"working_days": 0}}, "deadlines.working_days"),
        ({"database": "mysql://x"}, "database"),
        ({"domains": {"rdap_urls": {"cn": "ftp://x"}}}, "domains.rdap_urls.cn"),
        ({"domains": {"rdap_urls": {"not a tld": "https://x"}}}, "domains.rdap_urls.not a tld"),
        ({"domains": {"rdap_urls": ["https://x"]}}, "domains.rdap_urls"),
        ({"domains": {"expiry_warn_days": 0}}, "domains.expiry_warn_days"),
        ({"domains": {"enabled": "yes"}}, "domains.enabled"),
        ({"notices": {"include_codes": ["not-a-code"]}}, "notices.include_codes[0]"),
    ],
)
def test_bad_values_name_the_key_on_one_line(data, key):
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    message = str(info.value)
    assert message.startswith(f"{key}:")
    assert "\n" not in message


def test_cli_config_error_is_one_line_exit_2(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text('[fetch]\ntimeout_s = -3\n', encoding="utf-8")
    assert main(["--config", str(path), "registry", "stats"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "fetch.timeout_s" in err and str(path) in err


def test_env_variable_is_used(tmp_path, monkeypatch):
    path = tmp_path / "env.toml"
    path.write_text('database = "sqlite:///from-env.db"\n', encoding="utf-8")
    monkeypatch.setenv("BEIAN_CONFIG", str(path))
    assert load_config().database == "sqlite:///from-env.db"


def test_domains_section_and_notice_codes(tmp_path, capsys):
    config = parse_config({"domains": {"rdap_urls": {"CN": "https://rdap.example/", "*": "http://127.0.0.1:9"},
                                       "expiry_warn_days": 60}, "fetch": {"extra_ca": "/tmp/ca.pem"},
                           "notices": {"include_codes": ["filing.psb_missing"]}})
    assert dict(config.domains.rdap_urls) == {"cn": "https://rdap.example", "*": "http://127.0.0.1:9"}
    assert config.domains.expiry_warn_days == 60 and config.domains.cache_ttl_days == 7 and config.domains.enabled
    assert config.fetch.extra_ca == "/tmp/ca.pem" and config.notices.include_codes == ("filing.psb_missing",)
    path = tmp_path / "beian.toml"
    path.write_text('[notices]\nexclude_codes = ["domain.nonexistent"]\n', encoding="utf-8")
    assert main(["--config", str(path), "registry", "stats"]) == 2
    assert "notices.exclude_codes[0]: 'domain.nonexistent' is an unknown check code" in capsys.readouterr().err


def test_cluster_needs_postgresql_and_a_redis_url():
    config = parse_config({"database": "postgresql+psycopg://u@h/db",
                           "cluster": {"redis_url": "redis://127.0.0.1:6379/0", "lease_s": 30, "node_name": "bj-1"}})
    assert config.cluster.redis_url == "redis://127.0.0.1:6379/0" and config.cluster.lease_s == 30
    assert config.cluster.max_leases == 3 and config.cluster.nightly is False
    with pytest.raises(ConfigError, match=r"^cluster\.redis_url: a cluster needs a PostgreSQL database"):
        parse_config({"cluster": {"redis_url": "redis://127.0.0.1:6379/0"}})
    with pytest.raises(ConfigError, match=r"^cluster\.redis_url: 'http://x' is not a URL of scheme redis/rediss"):
        parse_config({"database": "postgresql://h/db", "cluster": {"redis_url": "http://x"}})
    with pytest.raises(ConfigError, match=r"^cluster\.lease_s:"):
        parse_config({"cluster": {"lease_s": 0}})
    assert parse_config({}).cluster.redis_url == ""  # no cluster: SQLite stays fine
