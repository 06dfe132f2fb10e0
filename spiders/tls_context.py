"""One TLS client context for the whole crawl.

Scrapy's client context factory builds a new CertificateOptions, and so a new OpenSSL context
(SSL_CTX_new, cipher list, options), for every https connection: 1–2 ms of CPU each, on every site.
The context holds nothing per connection (SNI and ALPN are set on the connection itself by Twisted
26.4+; certificates are not verified by the crawl, see spiders/tls.py), so one is shared.
"""

from __future__ import annotations

from scrapy.core.downloader.contextfactory import _ScrapyClientContextFactory


class SharedContextFactory(_ScrapyClientContextFactory):
    _shared = None

    def _get_cert_options(self):
        if self._shared is None:
            self._shared = super()._get_cert_options()
        return self._shared
