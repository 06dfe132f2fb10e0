"""Engine and session setup; the database is migrated to the newest schema on first use."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TypeVar

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from core.clock import SHANGHAI

T = TypeVar("T")


class StoreError(Exception):
    """The database cannot be opened or migrated; str() is one line."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def shanghai_iso(moment: datetime | None) -> str | None:
    moment = as_utc(moment)
    return moment.astimezone(SHANGHAI).isoformat(timespec="seconds") if moment else None


def _alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", "scanner.store:migrations")
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    return engine


def upgrade(engine: Engine) -> bool:
    """Bring the schema to head. Returns True when a migration ran."""
    cfg = _alembic_config(str(engine.url.render_as_string(hide_password=False)))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current == head:
        return False
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return True


# Lock contention a writer outlasts by trying again: SQLite's busy timeout ran out (several scan workers write
# to one file), or PostgreSQL picked this transaction as a deadlock or serialisation victim.
CONTENDED = ("database is locked", "database table is locked", "deadlock detected", "could not serialize")


def contended(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError) and any(text in str(exc) for text in CONTENDED)


def retrying(work: Callable[[], T], attempts: int = 8, first_wait_s: float = 0.1) -> T:
    """work(), tried again (waits doubling from first_wait_s) while it fails on lock contention only; the work
    must be one transaction, so a failed try left nothing behind."""
    for attempt in range(attempts):
        try:
            return work()
        except OperationalError as exc:
            if not contended(exc) or attempt == attempts - 1:
                raise
            time.sleep(first_wait_s * 2**attempt)
    raise AssertionError("unreachable")


class Store:
    """One database: an engine plus a session factory."""

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = url
        try:
            self.engine = make_engine(url)
            if migrate:
                upgrade(self.engine)
        except Exception as exc:  # any driver error becomes one line for the CLI
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StoreError(f"database {url.split('@')[-1]}: {detail}") from exc
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def session(self) -> Session:
        return self.sessions()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A read-then-write transaction that two processes may run at once (a nightly scan beside a rescan).

        SQLite in WAL mode cannot upgrade a reader's snapshot to a writer once another process has committed
        (SQLITE_BUSY_SNAPSHOT, which no busy timeout retries), so the write lock is taken up front.
        """
        with self.sessions() as session:
            if self.engine.dialect.name == "sqlite":
                session.connection().exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()
