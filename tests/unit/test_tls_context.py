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


def test_the_crawl_uses_it():
    settings = crawl_settings(parse_config({}), {})
    assert settings["DOWNLOADER_CLIENTCONTEXTFACTORY"] == "spiders.tls_context.SharedContextFactory"
