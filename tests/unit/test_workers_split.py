"""The pieces of `beian scan --workers N` that need no crawl: shards cover a selection exactly once, each
worker takes its share of the scan's limits, and worker progress adds up in the parent."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from core.config import parse_config
from core.statuses import FAILED
from scanner.crawl import share_of
from scanner.progress import Progress, Tally
from scanner.targets import Shard


@pytest.mark.parametrize("count", [1, 2, 3, 8])
def test_shards_cover_every_website_once(count):
    ids = range(1, 1000)
    owners = [[i for i in range(count) if Shard(i, count).holds(website)] for website in ids]
    assert all(len(owner) == 1 for owner in owners)
    sizes = [sum(1 for owner in owners if owner == [i]) for i in range(count)]
    assert max(sizes) - min(sizes) <= 1


def test_a_shard_outside_its_count_is_refused():
    with pytest.raises(ValueError):
        Shard(2, 2)
    with pytest.raises(ValueError):
        Shard(0, 0)


def test_workers_share_the_scans_limits():
    config = parse_config({"fetch": {"concurrency": 256, "per_ip_concurrency": 8},
                           "domains": {"concurrency": 8, "per_server_per_s": 5},
                           "render": {"pages": 4, "max_pages": 101}}, "test")
    assert share_of(config, 1) is config
    part = share_of(config, 2)
    assert (part.fetch.concurrency, part.fetch.per_ip_concurrency) == (128, 4)
    assert (part.domains.concurrency, part.domains.per_server_per_s) == (4, 2.5)
    assert (part.render.pages, part.render.max_pages) == (2, 51)
    many = share_of(config, 16)
    assert many.fetch.per_ip_concurrency == 1 and many.render.pages == 1 and many.domains.concurrency == 1


def _item(outcome: str, *codes: str) -> dict:
    outcomes = [SimpleNamespace(state=FAILED, code=code, findings=[object()]) for code in codes]
    return {"outcome": outcome, "outcomes": outcomes}


def test_worker_counts_add_up_in_the_parents_bar():
    workers = [Tally(), Tally()]
    workers[0].site_done(_item("checked", "site.unreachable"))
    workers[0].site_done(_item("not_checked"))
    workers[1].site_done(_item("checked", "filing.number_missing", "site.unreachable"))
    bar = Progress(10, done=4, stream=open("/dev/null", "w"))
    for tally in workers:
        bar.merge(tally.take())
        bar.merge(tally.take())  # nothing new: adds nothing
    assert (bar.done, bar.not_checked, bar.findings) == (7, 1, 3)
    assert bar.by_code == {"site.unreachable": 2, "filing.number_missing": 1}
    assert "7/10 sites" in bar.line()
