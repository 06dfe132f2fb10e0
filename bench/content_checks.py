"""Benchmark: CPU per page of the content checks (the four content.* codes together), on the
generated benchmark page (~17 KB) and on the labelled corpus pages. Target: at most 3 ms per page.

    python bench/content_checks.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jinja2  # noqa: E402

from checks.base import CHECKS, SiteRecord  # noqa: E402
from checks.run import load_all  # noqa: E402
from scanner.sandbox.generate import PAGE_TEMPLATE  # noqa: E402
from spiders.page import extract  # noqa: E402
from tests.corpus.corpus import cases, render  # noqa: E402

CODES = ("content.subject_mismatch", "content.preapproval_missing", "content.prohibited", "content.owner_mismatch")


def per_page_ms(pages: list[dict], rounds: int) -> float:
    record = SiteRecord(1, "京ICP备1号-1", "x", "已备案", ["x.cn"], "x.cn", "京ICP备1号", "北京示例科技有限公司", "个人")
    started = time.process_time()
    for _ in range(rounds):
        for page in pages:
            obs = {"homepage": "x.cn", "page": dict(page), "fetch": {"state": "page", "final_url": "https://x.cn/"}}
            for code in CODES:
                CHECKS[code](obs, record)
    return (time.process_time() - started) * 1000 / (rounds * len(pages))


def main() -> None:
    load_all()
    html = jinja2.Template(PAGE_TEMPLATE).render(title="星河科技官网", items=34, address="北京某区",
                                                 footer="<p>© 2024 北京示例科技有限公司 京ICP备20000001号-1</p>")  # fmt: skip
    generated = [extract(html, "https://x.cn/").as_dict()]
    corpus = [extract(render(c, "simplified")[0].decode("utf-8"), "https://x.cn/").as_dict() for c in cases()]
    print(f"generated page ({len(html.encode()) // 1024} KB): {per_page_ms(generated, 500):.3f} ms CPU per page")
    print(f"corpus pages ({len(corpus)}): {per_page_ms(corpus, 20):.3f} ms CPU per page")


if __name__ == "__main__":
    main()
