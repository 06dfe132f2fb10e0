"""Shared fixtures: stores on SQLite and on the machine's PostgreSQL, the test data folder."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from scanner.store.db import Store

DATA = Path(__file__).parent / "data"
PG_BASE = os.environ.get("BEIAN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'beian.db'}"


@pytest.fixture
def store(sqlite_url):
    s = Store(sqlite_url)
    yield s
    s.dispose()


@pytest.fixture
def pg_url():
    """A PostgreSQL URL bound to a schema of its own (search_path), dropped afterwards."""
    psycopg = pytest.importorskip("psycopg")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    plain = PG_BASE.replace("postgresql+psycopg://", "postgresql://")
    try:
        conn = psycopg.connect(plain, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL at {plain} is not reachable: {exc}")
    conn.execute(f'CREATE SCHEMA "{schema}"')
    joiner = "&" if "?" in PG_BASE else "?"  # BEIAN_TEST_PG may carry ?host=/var/run/postgresql
    yield f"{PG_BASE}{joiner}options=-csearch_path%3D{schema}"
    conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    conn.close()
