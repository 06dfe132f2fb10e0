"""Grace after a registry change: a finding on a website (or subject) whose record changed in the last
`cases.sync_grace_days` Chinese working days does not open a case yet; it is pending until the grace passes.

Why: the bureau's decisions reach the provider late. Seed 001 (睿江云 ICP 备案 FAQ), question 9 of the
filing FAQ, "已收到来自管局的备案通过/驳回/成功注销的消息，为何在睿江云控制台看不到同步状态？": "管局审核信息同步到接入商会有
1-2 个工作日的延迟" (again in 五、备案后 FAQ question 1: "备案状态同步大约是1到2个工作日"). Right after a change is
imported, the record and the site can disagree for a day or two through nobody's fault (the new domain or
number is approved but the rest of the change has not arrived yet), and a notice then would be wrong.

A change is a `registry_changes` row of kind `changed` or `restored` (not `added`: the first import of a
registry is no change of anything, and a new filing has no stale state to wait for), timed by its import.
The grace of a change at local time T on day D ends at the same time T on the N-th working day after D
(chinese-calendar plus `deadlines.holidays/workdays`, as every deadline). A website's findings wait for
changes of the website and of its subject; a subject's findings for changes of the subject. `critical` findings
(prohibited content) never wait: no registry lag explains them, as they skip the 整改期 too. A change stamped
after `now` (a clock pinned to the past, BEIAN_NOW) is not "in the last N days" and grants no grace.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import SHANGHAI
from scanner.store.db import as_utc
from scanner.store.models import RegistryChange, RegistryImport
from scanner.workdays import WorkCalendar

GRACE_CHANGES = ("changed", "restored")


@dataclass(frozen=True)
class Grace:
    kind: str  # website | subject: whose record changed
    number: str
    changed_at: datetime  # UTC, the import that brought the change
    until: datetime  # UTC: the finding may open a case from then on

    def as_dict(self) -> dict:
        return {"changed": self.kind, "number": self.number, "changed_at": self.changed_at.isoformat(),
                "until": self.until.isoformat()}


def grace_end(changed_at: datetime, days: int, calendar: WorkCalendar) -> datetime:
    local = changed_at.astimezone(SHANGHAI)
    day = calendar.add(local.date(), days)
    return datetime.combine(day, local.timetz().replace(tzinfo=None), SHANGHAI).astimezone(changed_at.tzinfo)


class SyncGrace:
    """The records in grace at `now`, read once; `for_finding` answers per website/subject."""

    def __init__(self, session: Session, days: int, now: datetime, calendar: WorkCalendar) -> None:
        self.now = now
        self.active: dict[tuple[str, str], Grace] = {}
        if days <= 0:
            return
        today = now.astimezone(SHANGHAI).date()
        since = datetime.combine(calendar.subtract(today, days + 1), time.min, SHANGHAI)
        rows = session.execute(
            select(RegistryChange.kind, RegistryChange.number, RegistryImport.imported_at)
            .join(RegistryImport, RegistryImport.id == RegistryChange.import_id)
            .where(RegistryChange.change.in_(GRACE_CHANGES), RegistryImport.imported_at >= since)
        )
        for kind, number, imported_at in rows:
            changed_at = as_utc(imported_at)
            if changed_at > now:
                continue
            until = grace_end(changed_at, days, calendar)
            if until <= now:
                continue
            known = self.active.get((kind, number))
            if known is None or until > known.until:
                self.active[(kind, number)] = Grace(kind, number, changed_at, until)

    def for_finding(self, website_number: str | None, subject_number: str) -> Grace | None:
        """The grace that holds this finding back (the one ending last), or None."""
        graces = [g for g in (self.active.get(("website", website_number)) if website_number else None,
                              self.active.get(("subject", subject_number))) if g is not None]
        return max(graces, key=lambda g: g.until) if graces else None
