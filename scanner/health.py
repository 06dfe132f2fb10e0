"""Crawl-health gate: when a scan's failure share jumps far above the recent baseline, the likely cause is
our own network or resolvers, not thousands of customers at once; its notices are held for an operator.

A monitor with actions, as in spidermon: `HealthGate.run` assesses a finished scan once (the verdict is kept
with the scan, so a rerun sees the same one) and, when it holds the notices, runs its actions (record the
verdict, alert the operator). Which findings count as network failures each check declares
(`network_failure`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from statistics import median

from sqlalchemy import select
from sqlalchemy.orm import Session

from checks import all_checks
from core.config import CasesConfig, Config
from scanner.notices.outbox import raise_alert
from scanner.store.models import Scan
from scanner.targets import Selector

MIN_WEBSITES = 20  # a targeted rescan of a few sites says nothing about the network


@dataclass(frozen=True)
class Health:
    share: float
    baseline: float | None
    threshold: float
    held: bool
    observed: int

    def as_dict(self) -> dict:
        return {"failure_share": round(self.share, 4), "baseline": None if self.baseline is None else round(self.baseline, 4),
                "threshold": round(self.threshold, 4), "held": self.held, "observed": self.observed}


def failure_share(stats: dict) -> tuple[float, int]:
    observed = int(stats.get("observed") or 0)
    if not observed:
        return 0.0, 0
    by_code = stats.get("findings_by_code") or {}
    failures = int(stats.get("not_checked") or 0) + sum(int(by_code.get(c.code, 0)) for c in all_checks() if c.network_failure)
    return min(1.0, failures / observed), observed


def assess(session: Session, scan: Scan, config: CasesConfig) -> Health:
    share, observed = failure_share(scan.stats or {})
    history = session.scalars(
        select(Scan).where(Scan.state == "finished", Scan.id < scan.id).order_by(Scan.id.desc()).limit(50)
    )
    shares = []
    for previous in history:
        if not Selector.from_dict(previous.selector).everything:
            continue
        prior_share, prior_observed = failure_share(previous.stats or {})
        if prior_observed >= MIN_WEBSITES and not (previous.stats or {}).get("health", {}).get("held"):
            shares.append(prior_share)
        if len(shares) >= config.health_baseline_scans:
            break
    baseline = median(shares) if shares else None
    reference = baseline if baseline is not None else config.health_min_share
    threshold = max(config.health_min_share, reference * config.health_factor, reference + config.health_margin)
    held = observed >= MIN_WEBSITES and share > threshold
    return Health(share, baseline, threshold, held, observed)


class HealthGate:
    """The monitor: its verdict on a scan, then its actions when the verdict holds the scan's notices."""

    def __init__(self, config: Config, now: datetime) -> None:
        self.config = config
        self.now = now
        self.actions = [self.record, self.alert_operator]

    def run(self, session: Session, scan: Scan) -> Health:
        recorded = (scan.stats or {}).get("health")
        if recorded is not None:  # a rerun for the same scan keeps its first verdict (and its release)
            return Health(recorded["failure_share"], recorded["baseline"], recorded["threshold"],
                          recorded["held"] and not recorded.get("released"), recorded["observed"])
        health = assess(session, scan, self.config.cases)
        for action in self.actions:
            action(session, scan, health)
        return health

    def record(self, session: Session, scan: Scan, health: Health) -> None:
        scan.stats = {**(scan.stats or {}), "health": health.as_dict()}

    def alert_operator(self, session: Session, scan: Scan, health: Health) -> None:
        if not health.held:
            return
        baseline = "none yet" if health.baseline is None else f"{health.baseline:.1%}"
        message = (f"扫描 {scan.id} 失败比例 {health.share:.1%} 远高于基线（{baseline}），"
                   "疑为本方网络或 DNS 故障，本次扫描的客户通知已暂停发送")
        raise_alert(session, self.config, self.now, "health_gate", message, scan_id=scan.id,
                    lines=[f"阈值 {health.threshold:.1%}，观测网站 {health.observed} 个",
                           f"确认网络正常后执行：beian notices release --scan {scan.id}"],
                    **health.as_dict())
