"""The real-page corpus (tests/corpus/real) through the real crawl on the sandbox, scored against its labels.

Issue 17's targets are precision 0.98 and recall 0.95 per code family on the held-out half. They are not met
yet (see the figures `python -m tests.corpus.real` prints); FLOORS are what the scanner reaches today on the
whole corpus, so that no change makes it worse. Raise them as the rules improve; never lower them to pass.
"""

from __future__ import annotations

import pytest

from tests.corpus.real import FAMILIES, pages, scan, score

FLOORS = {  # family: (precision, recall) on the whole corpus (266 pages), as measured on 2026-12-01
    "site.placeholder": (0.98, 0.79),
    "filing": (0.81, 0.91),
    "content": (0.98, 0.75),
}


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    items = pages()
    got = scan(items, tmp_path_factory.mktemp("real-corpus"))
    return len(items), *score(items, got)


def test_the_corpus_is_real_and_labelled():
    items = pages()
    assert len(items) >= 260
    for page in items:
        assert page.row["origin"].get("file_id") or page.row["origin"].get("repo"), page.id
        assert page.split in ("tune", "holdout"), page.id


@pytest.mark.parametrize("family", list(FAMILIES))
def test_no_family_falls_below_its_floor(scored, family):
    _count, table, wrong = scored
    row = table["all"][family]
    precision, recall = FLOORS[family]
    assert row["precision"] >= precision and row["recall"] >= recall, (row, "\n".join(wrong))
