"""The lease queue on a real Redis (its own redis-server): an id is in exactly one list while queued or leased,
an expired lease goes back to the queue, and a website whose leases keep ending without a result is given up."""

from __future__ import annotations

import time

from scanner.cluster.queue import ScanQueue, active_scans
from tests.cluster_helpers import redis_server  # noqa: F401 - fixture


def _expire(client, worker: str) -> None:
    deadline = time.monotonic() + 30
    while client.exists(f"beian:worker:{worker}:alive"):
        assert time.monotonic() < deadline, "the lease did not expire"
        time.sleep(0.05)


def test_leases_acks_expiry_and_giving_up(redis_server):  # noqa: F811
    client = redis_server.client()
    queue = ScanQueue(client, 7)
    assert queue.open({"domains": []}) is False and active_scans(client) == [7]
    queue.push(range(1, 11))
    assert queue.lease("w1", 4, lease_s=60) == [1, 2, 3, 4]
    assert queue.lease("w2", 4, lease_s=0.2) == [5, 6, 7, 8]
    assert queue.pending() == 2 and queue.leased() == {"w1": 4, "w2": 4}
    queue.ack("w1", [1, 2])
    assert queue.leased()["w1"] == 2
    assert queue.reap(max_leases=2) == (0, [])  # w2's lease still runs
    _expire(client, "w2")
    assert queue.reap(max_leases=2) == (4, [])  # w1 alive: its ids stay; w2's go back
    assert queue.leased() == {"w1": 2} and queue.pending() == 6
    assert sorted(queue.lease("w3", 10, lease_s=0.2)) == [5, 6, 7, 8, 9, 10]
    _expire(client, "w3")
    requeued, given_up = queue.reap(max_leases=2)
    assert requeued == 2 and sorted(given_up) == [5, 6, 7, 8], "a second lease without a result: given up"
    assert queue.pending() == 2
    assert queue.lease("w4", 1, lease_s=60) == [9] and queue.release("w4") == 1, "a clean stop gives back"
    assert queue.pending() == 2 and not client.exists("beian:worker:w4:alive")
    assert queue.open({"domains": []}) is True, "a resumed coordinator finds its keys"
    queue.close()
    assert queue.closed() and active_scans(client) == [] and not queue.intact()
