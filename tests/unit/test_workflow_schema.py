"""Migration 0006 creates the workflow tables exactly as the models declare them (on SQLite; the PostgreSQL
suite migrates the same revisions), and downgrades cleanly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from scanner.store.db import Store
from scanner.store.models import Base

TABLES = {"review_rounds", "review_items", "contact_verifications", "filing_lookups"}


def test_the_workflow_tables_match_their_models(tmp_path):
    url = f"sqlite:///{tmp_path / 'beian.db'}"
    Store(url).dispose()
    engine = create_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    ours = [d for d in diff if any(t in repr(d) for t in TABLES)]
    assert ours == []
    assert TABLES <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_0006_downgrades_to_0005(tmp_path):
    from alembic import command

    from scanner.store.db import _alembic_config

    url = f"sqlite:///{tmp_path / 'beian.db'}"
    Store(url).dispose()
    engine = create_engine(url)
    cfg = _alembic_config(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005")
    assert not TABLES & set(inspect(engine).get_table_names())
    engine.dispose()
