"""registry.domain_suffix_unsupported: the domain's top-level suffix is not on MIIT's approved list
(checks/data/miit_suffixes.txt). tldextract splits names from its bundled snapshot only, never online.

Seed 001 (域名问题 Q1 为什么会提示“该域名后缀不支持备案”).
"""

from __future__ import annotations

from functools import lru_cache

import idna
import tldextract

from checks.framework import WARNING, Binds, Field, Finding, Needs, Scope, check
from checks.registry import RegistryIndex, approved_suffixes
from core.records import SubjectView, WebsiteView


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


@check(
    code="registry.domain_suffix_unsupported",
    severity=WARNING,
    title="域名后缀不在工信部批准的范围内",
    rule="只有工信部批准的域名顶级后缀可以办理备案。",
    remediation="请更换为工信部批准的域名后缀，并变更备案信息。",
    doc="the domain suffix is one MIIT accepts",
    needs=Needs.REGISTRY,
    scope=Scope.WEBSITE,
    notice_field="网站域名",
    notice_field_lists=Field.FOUND_DOMAINS,
    waiver_binds=Binds.RECORD,
)
def domain_suffix_unsupported(website: WebsiteView, subject: SubjectView, index: RegistryIndex) -> Finding | list[Finding] | None:
    approved = approved_suffixes()
    found = []
    for domain in website.domains:
        tld = top_level(domain)
        if tld not in approved:
            found.append(Finding(f"{domain}（.{tld}）",
                               {"domain": domain, "suffix": tld, "list": "checks/data/miit_suffixes.txt"}, domain))
    if not found:
        return None
    return found
