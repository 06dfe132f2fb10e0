"""/metrics in the Prometheus text format, read from the database at each scrape."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import func, select

from scanner.store.db import Store
from scanner.store.models import Case, Finding, OutboxMessage, RescanRequest, Scan


class StoreCollector:
    def __init__(self, store: Store, service=None) -> None:
        self.store = store
        self.service = service

    def collect(self):
        with self.store.session() as session:
            scans = CounterMetricFamily("beian_scans", "Scans by final state", labels=["state"])
            for state, n in session.execute(select(Scan.state, func.count()).group_by(Scan.state)):
                scans.add_metric([state], n)
            yield scans
            last = session.scalars(select(Scan).where(Scan.state == "finished").order_by(Scan.id.desc()).limit(1)).first()
            rate = GaugeMetricFamily("beian_last_scan_sites_per_second", "Websites per second of the last finished scan")
            stats = (last.stats or {}) if last else {}
            elapsed = stats.get("elapsed_s") or 0
            rate.add_metric([], (stats.get("websites") or 0) / elapsed if elapsed else 0.0)
            yield rate
            findings = GaugeMetricFamily("beian_open_findings", "Open findings by check code", labels=["check"])
            for check, n in session.execute(
                select(Finding.check, func.count()).where(Finding.closed_at.is_(None)).group_by(Finding.check)
            ):
                findings.add_metric([check], n)
            yield findings
            cases = GaugeMetricFamily("beian_cases", "Cases by state", labels=["state"])
            for state, n in session.execute(select(Case.state, func.count()).group_by(Case.state)):
                cases.add_metric([state], n)
            yield cases
            notices = GaugeMetricFamily("beian_notices", "Outbox messages by state (sent, failed, pending, ...)",
                                        labels=["state"])
            for state, n in session.execute(select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)):
                notices.add_metric([state], n)
            yield notices
            queue = GaugeMetricFamily("beian_rescan_queue", "Scan requests by state", labels=["state"])
            for state, n in session.execute(select(RescanRequest.state, func.count()).group_by(RescanRequest.state)):
                queue.add_metric([state], n)
            yield queue
            yield from _nodes(session.scalars(select(Scan).where(Scan.state == "running")))
        if self.service is not None:
            yield GaugeMetricFamily("beian_running_scans", "Scans running now", value=len(self.service.running))


NODE_GAUGES = (("sites_per_s", "beian_node_sites_per_second", "Websites per second of a node in a running distributed scan"),
               ("in_flight", "beian_node_in_flight", "Websites a node holds (leased, not yet stored)"),
               ("failures", "beian_node_failures", "Websites a node could not check in the running scan"),
               ("done", "beian_node_sites_done", "Websites a node has stored in the running scan"))


def _nodes(scans):
    """The workers of running distributed scans, per node (from the coordinator's heartbeat in the store)."""
    families = {key: GaugeMetricFamily(name, text, labels=["scan", "node"]) for key, name, text in NODE_GAUGES}
    for scan in scans:
        for node, stats in ((scan.stats or {}).get("nodes") or {}).items():
            for key, family in families.items():
                family.add_metric([str(scan.id), node], float(stats.get(key, 0)))
    yield from families.values()


def render(store: Store, service=None) -> tuple[bytes, str]:
    registry = CollectorRegistry()
    registry.register(StoreCollector(store, service))
    return generate_latest(registry), CONTENT_TYPE_LATEST
