"""registry.domain_suffix_unsupported: the domain's top-level suffix is not on MIIT's approved list
(checks/data/miit_suffixes.txt). tldextract splits names from its bundled snapshot only, never online."""

from __future__ import annotations

from functools import lru_cache

import idna
import tldextract

from checks.base import Found, Outcome
from checks.catalog import info
from checks.registry import RegistryIndex, SubjectView, WebsiteView, approved_suffixes, website_check


@lru_cache(maxsize=1)
def _extractor() -> tldextract.TLDExtract:
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)


def top_level(domain: str) -> str:
    suffix = _extractor()(domain).suffix or domain.rsplit(".", 1)[-1]
    label = suffix.rsplit(".", 1)[-1].lower()
    if label.startswith("xn--"):
        try:
            return idna.decode(label)
        except idna.IDNAError:
            return label
    return label


@website_check("registry.domain_suffix_unsupported")
def domain_suffix_unsupported(website: WebsiteView, subject: SubjectView, index: RegistryIndex) -> Outcome:
    approved = approved_suffixes()
    found = []
    for domain in website.domains:
        tld = top_level(domain)
        if tld not in approved:
            found.append(Found("registry.domain_suffix_unsupported",
                               f"{info('registry.domain_suffix_unsupported').title}：{domain}（.{tld}）",
                               {"domain": domain, "suffix": tld, "list": "checks/data/miit_suffixes.txt"}, domain))  # fmt: skip
    if not found:
        return Outcome.passed("registry.domain_suffix_unsupported")
    return Outcome.failed("registry.domain_suffix_unsupported", *found)
