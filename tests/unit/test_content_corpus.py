"""The labelled content corpus (tests/corpus/*.yaml): precision and recall per content code.

`python -m tests.corpus.corpus` prints the same table with every disagreement."""

from __future__ import annotations

import pytest

from tests.corpus.corpus import CODES, cases, evaluate


@pytest.fixture(scope="module")
def results():
    return evaluate()


def test_corpus_is_big_and_covers_every_code():
    corpus = cases()
    assert len(corpus) >= 80
    for code in CODES:
        assert sum(code in c.expect for c in corpus) >= 3, code
    assert sum(not c.expect for c in corpus) >= 30, "near-misses that must stay clean"


@pytest.mark.parametrize("code", CODES)
def test_precision_and_recall(results, code):
    table, wrong = results
    row = table[code]
    assert row["precision"] >= 0.98, (row, wrong)
    assert row["recall"] >= 0.95, (row, wrong)


def test_findings_carry_terms_snippets_and_chinese_advice():
    from core.records import SiteRecord
    from tests.builders import check, page_observation
    from tests.corpus.corpus import render

    case = next(c for c in cases() if c.id == "e-hospital")
    body, _ = render(case, "simplified")
    obs = page_observation(body.decode("utf-8"), "https://x.cn/", "x.cn")
    record = SiteRecord(1, "京ICP备1号-1", "仁和医院", "已备案", ["x.cn"], "x.cn", "京ICP备1号", case.subject, case.nature)
    outcome = check("content.preapproval_missing", obs, record)
    found = outcome.findings[0]
    category = found.evidence["categories"][0]
    assert category["category"] == "medical" and len(category["terms"]) >= 2 and category["snippets"]
    assert "医疗保健" in found.summary and "请" in found.summary
