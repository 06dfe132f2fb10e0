"""Crawl-health gate: when a scan's failure share jumps far above the recent baseline, the likely cause is
our own network or resolvers, not thousands of customers at once; its notices are held for an operator.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import median

from sqlalchemy import select
from sqlalchemy.orm import Session

from checks import all_checks
from core.config import CasesConfig
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
                "threshold": round(self.threshold, 4), "held": self.held, "observed": self.observed}  # fmt: skip


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
