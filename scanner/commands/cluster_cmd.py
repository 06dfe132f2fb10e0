"""`beian worker`: crawl the websites of distributed scans (scanner.cluster) until stopped."""

from __future__ import annotations

import logging

from core.config import Config
from scanner.commands.common import CommandError
from scanner.scans import ScanError


def register(sub) -> None:
    p = sub.add_parser(
        "worker",
        help="crawl the websites of distributed scans (`scan --distributed`) until stopped",
        description="Takes websites from the cluster's Redis queue ([cluster] redis_url) as `beian scan "
        "--distributed` puts them there, crawls them as a local scan does and stores the results in the "
        "PostgreSQL database; runs on any number of machines, any number of times. SIGTERM or Ctrl-C stops it "
        "after what it holds; a worker killed outright loses nothing (its websites go back to the queue after "
        "cluster.lease_s).",
    )
    p.set_defaults(func=cmd_worker)


def cmd_worker(args, config: Config) -> int:
    from scanner.cluster.worker import Worker
    from scanner.store.db import Store

    if not config.database.startswith("postgres"):
        raise CommandError("database: a worker needs PostgreSQL (and [cluster] redis_url)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("scrapy").setLevel(logging.WARNING)
    from core.config import database_url

    Store(database_url(config)).dispose()  # the schema is there (migrated) before any crawl process starts
    try:
        Worker(config).run()
    except ScanError as exc:
        raise CommandError(str(exc)) from None
    return 0
