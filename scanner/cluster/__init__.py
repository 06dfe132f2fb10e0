"""One scan across many machines: a Redis lease queue of website ids, results in PostgreSQL.

`beian scan --distributed` (scanner.cluster.coordinator) opens the scan as any scan, puts the ids of its
websites in the scan's Redis queue lazily (a batch at a time, never a million ids in one process), follows
the workers' progress and closes the scan; the post-scan work (registry checks, cases, notices, the
crawl-health gate) then runs once, there, as after a local scan (scanner.scan.run_scan). `beian worker`
(scanner.cluster.worker, any number, on any machine) leases websites from the queue and crawls them with
the scan's own spider, DNS view, address guard and rendering (scanner.crawl.crawl_shard fed from the
queue), storing observations and findings in PostgreSQL.

Why a lease queue of websites and not scrapy-redis's scheduler queues alone: the unit of work is a website
(the spider makes several requests per site within one fetch budget and judges the site on all of them), not
a request; and scrapy-redis pops a request (LPOP/ZPOPMIN) out of Redis the moment a spider takes it, so a
worker killed with kill -9 loses everything it had taken and not finished, and a Redis restart without
persistence loses the whole queue. Here a worker LMOVEs ids from the scan's pending list to a processing
list of its own and holds a lease (a key with a TTL it keeps refreshing); it acknowledges (LREMs) an id only
after the transaction storing its observation committed. The coordinator moves the ids of a worker whose
lease expired back to the pending list, and gives a website up (with the reason, in the scan's stats) after
cluster.max_leases leases ended without a result. PostgreSQL, not Redis, says what is done: the observations
table is unique per (scan, website) and workers write with ON CONFLICT DO NOTHING (a website crawled twice
is recorded once, its findings applied once), and the scan is closed only when every website of the
selection has an observation or was given up. Should Redis lose the queue (a restart), the coordinator finds
its marker key gone and enqueues again what PostgreSQL has not observed yet.

scrapy-redis provides the Redis connection (`scrapy_redis.connection.get_redis`, its defaults: timeouts,
retry on timeout), so a worker connects the way a scrapy-redis crawl does; the queue itself is the small
lease protocol in scanner.cluster.queue.
"""
