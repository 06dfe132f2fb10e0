"""Benchmark: CPU per page of the content checks (the four content.* codes together), on the
generated benchmark page (~17 KB) and on the labelled corpus pages. Target: at most 3 ms per page.

    python bench/content_checks.py
"""

from __future__ import annotations

import copy
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jinja2  # noqa: E402

from core.records import SiteRecord  # noqa: E402
from scanner.sandbox.generate import PAGE_TEMPLATE  # noqa: E402
from spiders.page import extract  # noqa: E402
from tests.builders import check, page_observation  # noqa: E402
from tests.corpus.corpus import cases, render  # noqa: E402

CODES = ("content.subject_mismatch", "content.preapproval_missing", "content.prohibited", "content.owner_mismatch")


def per_page_ms(pages: list, rounds: int) -> float:
    record = SiteRecord(1, "京ICP备1号-1", "x", "已备案", ["x.cn"], "x.cn", "京ICP备1号", "北京示例科技有限公司", "个人")
    started = time.process_time()
    for _ in range(rounds):
        for page in pages:
            obs = page_observation(copy.copy(page), "https://x.cn/", "x.cn")  # a new page: no memo between rounds
            for code in CODES:
                check(code, obs, record)
    return (time.process_time() - started) * 1000 / (rounds * len(pages))


def main() -> None:
    html = jinja2.Template(PAGE_TEMPLATE).render(title="星河科技官网", items=34, address="北京某区",
                                                 footer="<p>© 2024 北京示例科技有限公司 京ICP备20000001号-1</p>")
    generated = [extract(html, "https://x.cn/")]
    corpus = [extract(render(c, "simplified")[0].decode("utf-8"), "https://x.cn/") for c in cases()]
    print(f"generated page ({len(html.encode()) // 1024} KB): {per_page_ms(generated, 500):.3f} ms CPU per page")
    print(f"corpus pages ({len(corpus)}): {per_page_ms(corpus, 20):.3f} ms CPU per page")


if __name__ == "__main__":
    main()
