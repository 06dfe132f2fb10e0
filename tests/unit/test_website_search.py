"""The website search (by number, domain, subject name, customer email; case-insensitive, LIKE wildcards literal)
on SQLite and PostgreSQL, whose LIKE differ in case handling."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from scanner.store.db import Store
from scanner.store.models import Domain, Subject, Website
from scanner.website_story import NotFound, search, story

AT = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'beian.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    s = Store(url)
    with s.transaction() as session:
        for n, (name, email, domain) in enumerate([("北京甲信息技术有限公司", "Ops@Jia.example.cn", "jia-shop.cn"),
                                                    ("上海乙100%网络有限公司", "it@yi.example.cn", "yi_net.cn")], 1):
            subject = Subject(subject_number=f"京ICP备5000000{n}号", name=name, customer_email=email, fingerprint="s",
                              created_at=AT, updated_at=AT)
            session.add(subject)
            session.flush()
            website = Website(subject_id=subject.id, website_number=f"京ICP备5000000{n}号-1", name=f"站{n}",
                              fingerprint="w", created_at=AT, updated_at=AT)
            session.add(website)
            session.flush()
            session.add(Domain(website_id=website.id, name=domain, position=0))
    yield s
    s.dispose()


@pytest.mark.parametrize("text, expected", [
    ("京ICP备50000001号-1", ["京ICP备50000001号-1"]),
    ("JIA-SHOP", ["京ICP备50000001号-1"]),
    ("乙100%", ["京ICP备50000002号-1"]),
    ("100%网", ["京ICP备50000002号-1"]),
    ("%", ["京ICP备50000002号-1"]),  # only the name that has a literal %
    ("_", ["京ICP备50000002号-1"]),  # only the domain with a literal _
    ("ops@jia", ["京ICP备50000001号-1"]),
    ("5000000", ["京ICP备50000001号-1", "京ICP备50000002号-1"]),
    ("   ", []),
    ("nothing-like-this", []),
])
def test_search(store, text, expected):
    with store.session() as session:
        assert [row["website_number"] for row in search(session, text)] == expected


def test_story_of_an_unknown_number_is_not_found(store):
    with store.session() as session:
        with pytest.raises(NotFound):
            story(session, "京ICP备59999999号-1")
        assert story(session, "京ICP备50000001号-1")["record"]["domains"] == ["jia-shop.cn"]


@pytest.mark.parametrize("actor, operator", [("scan 12", False), ("sweep", False), ("annual review 3", False),
                                             ("miit cross-check", False), ("console", True), ("console（批量）", True),
                                             ("张三", True), ("operator", True)])
def test_operator_actions_are_the_ones_no_reconcile_run_made(actor, operator):
    from scanner.website_story import is_operator

    assert is_operator(actor) is operator
