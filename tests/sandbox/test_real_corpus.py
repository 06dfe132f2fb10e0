"""The real-page corpus (tests/corpus/real) through the real crawl on the sandbox, scored against its labels.

Issue 17's targets are precision 0.98 and recall 0.95 per code family. FLOORS are what the scanner reaches on
the whole corpus (`python -m tests.corpus.real` prints the figures and every disagreement), less a small margin,
so that no change makes it worse; where a family is still below the target, the floor is what it measures today.
Raise them as the rules improve; never lower them to pass. A failure prints every disagreement.
"""

from __future__ import annotations

import pytest

from tests.corpus.real import FAMILIES, pages, scan, score

FLOORS = {  # family: (precision, recall) on the whole corpus (345 pages); measured on 2026-12-01:
    "site.placeholder": (0.98, 0.94),  # 0.991 / 0.959
    "filing": (0.955, 0.96),  # 0.971 / 0.982 (renders judged at their deadline, session 3)
    "content": (0.90, 0.78),  # 0.923 / 0.800 (15 positives: one page is 0.07)
}


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    items = pages()
    got = scan(items, tmp_path_factory.mktemp("real-corpus"))
    return len(items), *score(items, got)


def test_the_corpus_is_real_and_labelled():
    items = pages()
    assert len(items) >= 300
    for page in items:
        assert page.row["origin"].get("file_id") or page.row["origin"].get("repo"), page.id
        assert page.split in ("tune", "holdout"), page.id


@pytest.mark.parametrize("family", list(FAMILIES))
def test_no_family_falls_below_its_floor(scored, family):
    _count, table, wrong = scored
    row = table["all"][family]
    precision, recall = FLOORS[family]
    assert row["precision"] >= precision and row["recall"] >= recall, (row, "\n".join(wrong))
