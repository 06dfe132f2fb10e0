"""RDAP answers about addresses, kept in the store for `ownership.cache_ttl_days` (spiders.ownership's cache)."""

from __future__ import annotations

from datetime import timedelta

from scanner.store.db import Store, as_utc, utcnow
from scanner.store.models import OwnershipCacheEntry


class StoreOwnerCache:
    """RDAP answers kept in the store for `ownership.cache_ttl_days`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, address: str, max_age: timedelta) -> dict | None:
        with self.store.session() as session:
            row = session.get(OwnershipCacheEntry, address)
        if row is None or as_utc(row.fetched_at) < utcnow() - max_age:
            return None
        return {"owner": row.owner, "network": row.network, "asn": row.asn, "country": row.country}

    def put(self, address: str, data: dict) -> None:
        with self.store.transaction() as session:
            row = session.get(OwnershipCacheEntry, address) or OwnershipCacheEntry(address=address)
            row.owner, row.network = data.get("owner", ""), data.get("network", "")
            row.asn, row.country, row.fetched_at = data.get("asn", ""), data.get("country", ""), utcnow()
            session.add(row)
