"""Alembic environment: runs on the connection handed in by scanner.store.db.upgrade."""

from alembic import context
from sqlalchemy import create_engine

from scanner.store.models import Base

target_metadata = Base.metadata
connection = context.config.attributes.get("connection")


def _ours(obj, name, type_, reflected, compare_to) -> bool:
    return not (type_ == "table" and name.startswith("apscheduler"))  # APScheduler owns its job table


def _run(conn) -> None:
    context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True,
                      include_object=_ours)
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    _run(connection)
else:  # `alembic` invoked by hand with sqlalchemy.url set
    engine = create_engine(context.config.get_main_option("sqlalchemy.url"))
    with engine.begin() as conn:
        _run(conn)
