"""RDAP answers about registrable domains, kept in the store for `domains.cache_ttl_days`
(spiders.registration's cache)."""

from __future__ import annotations

from datetime import timedelta

from scanner.store.db import Store, as_utc, utcnow
from scanner.store.models import RegistrationCacheEntry


class StoreRegistrationCache:
    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, domain: str, max_age: timedelta) -> dict | None:
        with self.store.session() as session:
            row = session.get(RegistrationCacheEntry, domain)
        if row is None or as_utc(row.fetched_at) < utcnow() - max_age:
            return None
        return {**row.data, "fetched_at": as_utc(row.fetched_at)}

    def put(self, domain: str, data: dict) -> None:
        with self.store.transaction() as session:
            row = session.get(RegistrationCacheEntry, domain) or RegistrationCacheEntry(domain=domain)
            row.data, row.fetched_at = dict(data), utcnow()
            session.add(row)
