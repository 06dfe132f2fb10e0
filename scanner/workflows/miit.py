"""The MIIT cross-check (是否备案查询, seeds 003/004): does MIIT's filing system know our websites as we do?

`FilingLookup` asks a filing query service by website number, subject number or domain. `HttpFilingLookup`
is the one implementation: `GET <lookup.url>/query?type=website|subject|domain&value=…` with a Bearer token,
at most `lookup.rate_per_s` queries a second. The service answers JSON:

- `{"status": "found", "records": [{"website_number", "subject_number", "subject_name", "domains", "status"}]}`
- `{"status": "not_found"}`: an explicit "no record";
- anything else — an empty body or an empty `records`, `{"status": "rate_limited" | "captcha" | "error"}`,
  HTTP 429 or 5xx, no answer — is **unknown**: could not check, never "未备案" (public query tools are known
  to answer empty under rate limits).

It is off unless `lookup.url` is set: the product never asks a public service on its own. `beian miit check`
asks about every 已备案 website (or those selected), stores each answer (`filing_lookups`) and judges
`filing.unknown_at_miit` (a "no record" answered on two different days) and `filing.registry_stale` (a
found record that differs from ours) on the stored answers; the findings open cases as any other.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy import select

from checks import evaluate_workflow
from core import clock
from core.clock import SHANGHAI
from core.config import Config
from core.records import LookupAnswer, MiitCrossCheck
from core.statuses import FILED
from scanner import findings as findings_store
from scanner.store.db import Store
from scanner.store.models import Domain, FilingLookupAnswer, Subject, Website

CODES = ("filing.unknown_at_miit", "filing.registry_stale")
FOUND, NOT_FOUND, UNKNOWN = "found", "not_found", "unknown"
KEEP_ANSWERS = 10  # answers per website the checks read (newest)


class LookupError_(Exception):  # noqa: N801 - LookupError is a builtin
    """The cross-check cannot run (not configured); one line."""


@dataclass(frozen=True)
class Answer:
    answer: str  # found | not_found | unknown
    reason: str = ""
    records: tuple[dict, ...] = ()


class FilingLookup(Protocol):
    def by_website(self, number: str) -> Answer: ...
    def by_subject(self, number: str) -> Answer: ...
    def by_domain(self, name: str) -> Answer: ...


class HttpFilingLookup:
    def __init__(self, url: str, token: str, rate_per_s: float, timeout_s: float) -> None:
        self.url, self.token, self.timeout_s = url.rstrip("/"), token, timeout_s
        self.interval = 1.0 / rate_per_s
        self._last = 0.0

    def by_website(self, number: str) -> Answer:
        return self._ask("website", number)

    def by_subject(self, number: str) -> Answer:
        return self._ask("subject", number)

    def by_domain(self, name: str) -> Answer:
        return self._ask("domain", name)

    def _ask(self, kind: str, value: str) -> Answer:
        wait = self._last + self.interval - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._last = time.monotonic()
        query = urllib.parse.urlencode({"type": kind, "value": value})
        request = urllib.request.Request(f"{self.url}/query?{query}", headers={
            "Accept": "application/json", **({"Authorization": f"Bearer {self.token}"} if self.token else {})})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310 - configured URL
                raw = response.read(2 * 1024 * 1024)
        except urllib.error.HTTPError as exc:
            return Answer(UNKNOWN, f"HTTP {exc.code}" + (" (rate limited)" if exc.code == 429 else ""))
        except (OSError, ValueError) as exc:
            return Answer(UNKNOWN, f"{type(exc).__name__}: {exc}"[:300])
        return interpret(raw)


def interpret(raw: bytes) -> Answer:
    """The service's body as an answer; only an explicit status is ever "found" or "not_found"."""
    if not raw.strip():
        return Answer(UNKNOWN, "empty answer")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return Answer(UNKNOWN, "not JSON")
    if not isinstance(data, dict):
        return Answer(UNKNOWN, "not a JSON object")
    status = str(data.get("status") or "")
    if status == NOT_FOUND:
        return Answer(NOT_FOUND)
    records = data.get("records")
    if status == FOUND and isinstance(records, list) and records and all(isinstance(r, dict) for r in records):
        return Answer(FOUND, "", tuple(records))
    if status == FOUND:
        return Answer(UNKNOWN, "found without records (an empty answer)")
    return Answer(UNKNOWN, status or "no status")


def lookup_for(config: Config) -> FilingLookup:
    c = config.lookup
    if not c.url:
        raise LookupError_("lookup.url is not set: the MIIT cross-check is off (the product never asks a public "
                           "service unless configured)")
    return HttpFilingLookup(c.url, c.token, c.rate_per_s, c.timeout_s)


@dataclass
class CrossCheckReport:
    asked: int = 0
    by_answer: dict[str, int] = field(default_factory=dict)
    findings: dict[str, int] = field(default_factory=dict)
    cases: str = ""

    def line(self) -> str:
        answers = ", ".join(f"{n} {a}" for a, n in sorted(self.by_answer.items())) or "none"
        found = ", ".join(f"{c} {n}" for c, n in sorted(self.findings.items()) if n) or "no findings"
        return f"{self.asked} websites asked ({answers}); {found}" + (f"; {self.cases}" if self.cases else "")


class CrossCheck:
    def __init__(self, config: Config, store: Store, lookup: FilingLookup | None = None, now: datetime | None = None):
        self.config = config
        self.store = store
        self.lookup = lookup or lookup_for(config)
        self.now = now or clock.now()

    def run(self, websites: list[str] | None = None, limit: int | None = None) -> CrossCheckReport:
        from scanner.cases import CaseBook

        report = CrossCheckReport()
        targets = self._targets(websites)[: limit or None]
        day = self.now.astimezone(SHANGHAI).date().isoformat()
        for target in targets:
            answer = self.lookup.by_website(target.website_number)
            record = next((r for r in answer.records if str(r.get("website_number", "")) == target.website_number),
                          answer.records[0] if answer.records else {})
            report.asked += 1
            report.by_answer[answer.answer] = report.by_answer.get(answer.answer, 0) + 1
            with self.store.transaction() as session:
                session.add(FilingLookupAnswer(website_number=target.website_number, subject_number=target.subject_number,
                                               asked_at=self.now, day=day, answer=answer.answer,
                                               reason=answer.reason[:500], record=record))
                session.flush()
                rows = list(session.scalars(select(FilingLookupAnswer).where(
                    FilingLookupAnswer.website_number == target.website_number)
                    .order_by(FilingLookupAnswer.id.desc()).limit(KEEP_ANSWERS)))
                item = MiitCrossCheck(target.website_number, target.subject_number, target.subject_name, target.status,
                                      target.domains, tuple(LookupAnswer(r.day, r.answer, r.reason, r.record or {})
                                                            for r in reversed(rows)))
                outcomes = [evaluate_workflow(code, item) for code in CODES]
                for outcome in outcomes:
                    report.findings[outcome.code] = report.findings.get(outcome.code, 0) + len(outcome.findings)
                findings_store.apply(session, None, self.now,
                                     [findings_store.Verdicts(target.subject_number, target.website_number, outcomes)])
        if any(report.findings.values()):
            report.cases = CaseBook(self.config, self.store, now=self.now).reconcile(None, actor="miit cross-check").line()
        return report

    def _targets(self, websites: list[str] | None) -> list[MiitCrossCheck]:
        with self.store.session() as session:
            statement = (select(Website.id, Website.website_number, Website.status, Subject.subject_number, Subject.name)
                         .join(Subject, Subject.id == Website.subject_id)
                         .where(Website.removed_at.is_(None), Website.status == FILED).order_by(Website.website_number))
            if websites:
                statement = statement.where(Website.website_number.in_(websites))
            rows = list(session.execute(statement))
            domains: dict[int, list[str]] = {}
            for website_id, name in session.execute(select(Domain.website_id, Domain.name).where(
                    Domain.removed_at.is_(None)).order_by(Domain.position)):
                domains.setdefault(website_id, []).append(name)
        return [MiitCrossCheck(r.website_number, r.subject_number, r.name, r.status, tuple(domains.get(r.id, [])))
                for r in rows]
