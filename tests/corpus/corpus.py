"""The labelled content corpus: pages rendered from personal.yaml and units.yaml in simplified,
traditional and GBK forms, run through the crawler's page extraction and the content checks."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import opencc
import yaml
from w3lib.encoding import html_to_unicode

from core.records import PreApproval, SiteRecord
from core.statuses import FAILED
from spiders.page import extract
from tests.builders import check, page_observation

HERE = Path(__file__).parent
CODES = ("content.subject_mismatch", "content.preapproval_missing", "content.prohibited", "content.owner_mismatch")
VARIANTS = ("simplified", "traditional", "gbk")


@dataclass
class Case:
    id: str
    nature: str
    subject: str
    approvals: list
    title: str
    nav: list
    body: str
    footer: str
    expect: list


def cases() -> list[Case]:
    result = []
    for name in ("personal.yaml", "units.yaml", "extra.yaml"):
        for item in yaml.safe_load((HERE / name).read_text(encoding="utf-8")):
            result.append(Case(item["id"], item["nature"], item["subject"], item.get("approvals") or [],
                               item["title"], item.get("nav") or [], item["body"], item.get("footer") or "",
                               item.get("expect") or []))
    return result


@lru_cache(maxsize=1)
def _s2t():
    return opencc.OpenCC("s2t")


def render(case: Case, variant: str) -> tuple[bytes, str]:
    """(bytes as served, Content-Type) for one variant."""
    title, body, footer, nav = case.title, case.body, case.footer, list(case.nav)
    if variant == "traditional":
        convert = _s2t().convert
        title, body, footer, nav = convert(title), convert(body), convert(footer), [convert(n) for n in nav]
    charset = "gbk" if variant == "gbk" else "utf-8"
    links = "".join(f'<a href="/{i}.html">{n}</a> ' for i, n in enumerate(nav))
    html = (f'<!DOCTYPE html><html><head><meta charset="{charset}"><title>{title}</title></head><body>'
            f'<header><nav class="nav">{links}</nav></header><main><h1>{title}</h1>{body}</main>'
            f'<footer class="footer"><p>{footer}</p></footer></body></html>')
    return html.encode(charset, errors="xmlcharrefreplace"), "text/html" if variant == "gbk" else "text/html; charset=utf-8"


def fired(case: Case, variant: str) -> set[str]:
    body, content_type = render(case, variant)
    _encoding, text = html_to_unicode(content_type, body)  # as the crawler decodes a response
    obs = page_observation(extract(text, "https://corpus.example.cn/"), "https://corpus.example.cn/", "corpus.example.cn")
    record = SiteRecord(
        website_id=1, website_number="京ICP备10000000号-1", website_name=case.title, status="已备案",
        domains=["corpus.example.cn"], homepage_host="corpus.example.cn", subject_number="京ICP备10000000号",
        subject_name=case.subject, nature=case.nature,
        pre_approvals=[PreApproval(a["category"], a.get("number", "")) for a in case.approvals],
    )
    return {code for code in CODES if check(code, obs, record).state == FAILED}


def evaluate() -> tuple[dict[str, dict[str, float]], list[str]]:
    """Per code: precision, recall and counts; plus the list of disagreements."""
    counts = {code: {"tp": 0, "fp": 0, "fn": 0} for code in CODES}
    wrong = []
    for case in cases():
        for variant in VARIANTS:
            got, want = fired(case, variant), set(case.expect)
            for code in CODES:
                if code in got and code in want:
                    counts[code]["tp"] += 1
                elif code in got:
                    counts[code]["fp"] += 1
                elif code in want:
                    counts[code]["fn"] += 1
            if got != want:
                wrong.append(f"{case.id} [{variant}]: got {sorted(got)}, want {sorted(want)}")
    table = {}
    for code, c in counts.items():
        precision = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 1.0
        recall = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 1.0
        table[code] = {"precision": precision, "recall": recall, **c}
    return table, wrong


def main() -> None:
    table, wrong = evaluate()
    total = len(cases())
    print(f"{total} labelled pages x {len(VARIANTS)} forms ({', '.join(VARIANTS)})")
    print(f"{'code':<30} {'precision':>9} {'recall':>7} {'tp':>4} {'fp':>4} {'fn':>4}")
    for code, row in table.items():
        print(f"{code:<30} {row['precision']:>9.3f} {row['recall']:>7.3f} {row['tp']:>4} {row['fp']:>4} {row['fn']:>4}")
    for line in wrong:
        print("  mismatch:", line)


if __name__ == "__main__":
    main()
