"""The owners memo is bounded: a million-site scan meets hundreds of thousands of addresses."""

from __future__ import annotations

import asyncio

from core.config import load_config
from spiders import ownership
from spiders.ownership import Ownership


class _Cache:
    def __init__(self) -> None:
        self.gets = 0

    def get(self, address, max_age):
        self.gets += 1
        return {"owner": f"owner of {address}", "network": "", "asn": "", "country": "CN"}

    def put(self, address, data):
        raise AssertionError("a cached owner is not stored again")


def test_memo_keeps_the_recent_owners_and_forgets_the_oldest(monkeypatch):
    monkeypatch.setattr(ownership, "MEMO_SIZE", 3)
    cache = _Cache()
    owners = Ownership(load_config(None), cache)
    addresses = [f"203.0.113.{n}" for n in range(1, 6)]

    async def run():
        found = [await owners.owner(a) for a in addresses]
        again_recent = await owners.owner(addresses[-1])
        again_oldest = await owners.owner(addresses[0])
        return found, again_recent, again_oldest

    found, recent, oldest = asyncio.run(run())
    assert [o.owner for o in found] == [f"owner of {a}" for a in addresses]
    assert len(owners._memo) == 3
    assert recent.owner == f"owner of {addresses[-1]}" and oldest.owner == f"owner of {addresses[0]}"
    assert cache.gets == 6  # five first lookups, the forgotten oldest once more; the recent one from memory
