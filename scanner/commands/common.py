"""What every command shares: the one-line user error and the store of the configured database."""

from __future__ import annotations

from core.config import Config, database_url
from scanner.store.db import Store


class CommandError(Exception):
    """A failure the user can act on; printed as one line, exit status 2."""


def open_store(config: Config) -> Store:
    return Store(database_url(config))
