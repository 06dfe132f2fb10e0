"""The crawl shares one TLS client context across connections (a new one per connection cost 1-2 ms each)."""

from scrapy.core.downloader.contextfactory import _get_creator_context, _ScrapyClientContextFactory
from scrapy.utils.test import get_crawler

from core.config import parse_config
from spiders.settings import crawl_settings
from spiders.tls_context import SharedContextFactory


def _factory(cls):
    return cls.from_crawler(get_crawler(settings_dict={}))


def test_one_context_for_every_host():
    factory = _factory(SharedContextFactory)
    first = _get_creator_context(factory.creatorForNetloc(b"a.example.cn", 443))
    second = _get_creator_context(factory.creatorForNetloc(b"b.example.cn", 443))
    assert first is second


def test_scrapy_default_makes_one_per_connection():
    """What the shared factory replaces: if Scrapy starts sharing by itself, this factory can go."""
    factory = _factory(_ScrapyClientContextFactory)
    first = _get_creator_context(factory.creatorForNetloc(b"a.example.cn", 443))
    second = _get_creator_context(factory.creatorForNetloc(b"b.example.cn", 443))
    assert first is not second


def test_the_crawl_uses_it(monkeypatch):
    """The crawl's download handler (both schemes) swaps the shared factory in; Scrapy's own __init__ needs a
    running reactor, so it is skipped here."""
    from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
    from scrapy.utils.misc import load_object

    settings = crawl_settings(parse_config({}), {})
    assert "DOWNLOADER_CLIENTCONTEXTFACTORY" not in settings  # deprecated in Scrapy 2.19: it warns
    monkeypatch.setattr(HTTP11DownloadHandler, "__init__", lambda self, crawler: None)
    for scheme in ("http", "https"):
        handler = load_object(settings["DOWNLOAD_HANDLERS"][scheme])(get_crawler(settings_dict={}))
        assert isinstance(handler._contextFactory, SharedContextFactory)


def test_a_shared_certificate_is_read_once_and_judged_per_host(monkeypatch):
    import trustme
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    from spiders import tls

    pem = trustme.CA().issue_cert("*.shared.example.cn").cert_chain_pems[0].bytes()
    der = x509.load_pem_x509_certificate(pem).public_bytes(Encoding.DER)
    reads = []
    original = tls._facts
    monkeypatch.setattr(tls, "_facts", lambda cert, trust: reads.append(1) or original(cert, trust))
    seen = tls._Seen()
    first = tls._with_host(seen.facts(der, None), "a.shared.example.cn")
    second = tls._with_host(seen.facts(der, None), "other.example.cn")
    assert len(reads) == 1
    assert first.host_matches and first.host == "a.shared.example.cn"
    assert not second.host_matches and second.host == "other.example.cn"
    assert first.subject == second.subject and first.sans == ["*.shared.example.cn"]
