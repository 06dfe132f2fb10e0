"""The Redis side of a distributed scan: a pending list of website ids, one processing list per worker
(filled with LMOVE, so an id is always in exactly one Redis list while it is queued or leased), a lease key
per worker with a TTL, and the workers' progress. Every key of one scan starts with `beian:scan:<id>:`.

Keys:
  beian:scans                      set of the scan ids the coordinators are running
  beian:scan:<id>:meta             hash; its absence means Redis lost the scan's keys (a restart): rebuilt
  beian:scan:<id>:pending          list of website ids waiting for a worker
  beian:scan:<id>:leased:<worker>  list of the website ids one worker holds
  beian:scan:<id>:workers          set of the workers that ever leased in this scan
  beian:scan:<id>:expired          hash website id -> leases that ended without a result
  beian:scan:<id>:nodes            hash worker -> its progress (JSON)
  beian:scan:<id>:closed           set when the crawl is over: workers leave
  beian:worker:<worker>:alive      the worker's lease: a key with a TTL of cluster.lease_s it keeps refreshing
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable

from core.config import Config

ACTIVE = "beian:scans"
KEEP_S = 86400  # how long a closed scan's keys stay (a late worker sees `closed`)


def connect(config: Config):
    """A Redis client for cluster.redis_url, made by scrapy-redis (its defaults: timeouts, retry on timeout)."""
    from scrapy_redis import connection, defaults

    params = {**defaults.REDIS_PARAMS, "socket_timeout": 10, "socket_connect_timeout": 5,
              "decode_responses": True, "health_check_interval": 10}
    return connection.get_redis(url=config.cluster.redis_url, **params)


class ScanQueue:
    def __init__(self, redis, scan_id: int) -> None:
        self.redis = redis
        self.scan_id = scan_id
        self.prefix = f"beian:scan:{scan_id}:"

    def key(self, name: str) -> str:
        return self.prefix + name

    # -- the coordinator -------------------------------------------------------------------------------
    def open(self, selector: dict) -> bool:
        """Mark the scan active; True when its keys were there already (a resumed coordinator), False when
        they are new (a new scan, or a Redis that lost them)."""
        existed = bool(self.redis.exists(self.key("meta")))
        pipe = self.redis.pipeline()
        pipe.hset(self.key("meta"), mapping={"selector": json.dumps(selector), "opened": time.time()})
        pipe.delete(self.key("closed"))
        for key in self.redis.scan_iter(match=self.prefix + "*", count=1000):
            pipe.persist(key)  # a resumed scan's lists lose the expiry its interruption gave them
        pipe.sadd(ACTIVE, self.scan_id)
        pipe.execute()
        return existed

    def intact(self) -> bool:
        return bool(self.redis.exists(self.key("meta")))

    def pending(self) -> int:
        return int(self.redis.llen(self.key("pending")))

    def push(self, ids: Iterable[int]) -> None:
        ids = list(ids)
        if ids:
            self.redis.rpush(self.key("pending"), *ids)

    def leased(self) -> dict[str, int]:
        """Worker -> how many website ids it holds."""
        workers = sorted(self.redis.smembers(self.key("workers")))
        pipe = self.redis.pipeline()
        for worker in workers:
            pipe.llen(self.key(f"leased:{worker}"))
        return dict(zip(workers, (int(n) for n in pipe.execute()), strict=True))

    def reap(self, max_leases: int) -> tuple[int, list[int]]:
        """Move the ids of every worker whose lease expired back to the pending list; (ids re-queued, ids given
        up: their leases ended without a result max_leases times)."""
        requeued, given_up = 0, []
        for worker in sorted(self.redis.smembers(self.key("workers"))):
            if self.redis.exists(alive_key(worker)):
                continue
            source = self.key(f"leased:{worker}")
            while True:
                value = self.redis.lpop(source)
                if value is None:
                    break
                if int(self.redis.hincrby(self.key("expired"), value, 1)) >= max_leases:
                    given_up.append(int(value))
                else:
                    self.redis.rpush(self.key("pending"), value)
                    requeued += 1
            self.redis.srem(self.key("workers"), worker)
        return requeued, given_up

    def nodes(self) -> dict[str, dict]:
        return {worker: json.loads(body) for worker, body in self.redis.hgetall(self.key("nodes")).items()}

    def close(self) -> None:
        """The crawl is over (or stopped): workers leave, nothing stays queued."""
        pipe = self.redis.pipeline()
        pipe.set(self.key("closed"), 1, ex=KEEP_S)
        pipe.srem(ACTIVE, self.scan_id)
        pipe.delete(self.key("pending"), self.key("meta"), self.key("expired"))
        for key in self.redis.scan_iter(match=self.prefix + "*", count=1000):
            pipe.expire(key, KEEP_S)  # the workers' lists and progress: gone a day later
        pipe.execute()

    # -- a worker --------------------------------------------------------------------------------------
    def closed(self) -> bool:
        return bool(self.redis.exists(self.key("closed")))

    def lease(self, worker: str, n: int, lease_s: float) -> list[int]:
        """Up to n website ids moved from the pending list to this worker's processing list."""
        self.hold(worker, lease_s)
        self.redis.sadd(self.key("workers"), worker)
        pipe = self.redis.pipeline()
        for _ in range(n):
            pipe.lmove(self.key("pending"), self.key(f"leased:{worker}"), "LEFT", "RIGHT")
        return [int(value) for value in pipe.execute() if value is not None]

    def hold(self, worker: str, lease_s: float) -> None:
        """Keep this worker's lease for another lease_s."""
        self.redis.set(alive_key(worker), self.scan_id, px=max(1, int(lease_s * 1000)))

    def ack(self, worker: str, ids: Iterable[int], stats: dict | None = None) -> None:
        """These websites' results are stored: out of the worker's processing list, and (in the same MULTI) the
        worker's progress, so that a coordinator that sees no lease left also sees every stored website counted."""
        pipe = self.redis.pipeline()
        for website_id in ids:
            pipe.lrem(self.key(f"leased:{worker}"), 1, website_id)
        if stats is not None:
            pipe.hset(self.key("nodes"), worker, json.dumps(stats))
        pipe.execute()

    def release(self, worker: str) -> int:
        """A worker that stopped cleanly gives back what it holds and did not store (no wait for its lease)."""
        moved = 0
        while self.redis.lmove(self.key(f"leased:{worker}"), self.key("pending"), "LEFT", "RIGHT") is not None:
            moved += 1
        self.redis.delete(alive_key(worker))
        return moved

    def report(self, worker: str, stats: dict) -> None:
        self.redis.hset(self.key("nodes"), worker, json.dumps(stats))


def alive_key(worker: str) -> str:
    return f"beian:worker:{worker}:alive"


def active_scans(redis) -> list[int]:
    return sorted(int(v) for v in redis.smembers(ACTIVE))
