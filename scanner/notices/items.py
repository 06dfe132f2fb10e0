"""Turn cases into the rows of a notice: 备案信息 | 相关字段 | 问题描述 | 整改要求 | 整改期限."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from checks import get as declared
from checks.framework import Field
from core.statuses import CRITICAL
from scanner.notices.compose import local_time
from scanner.store.models import Case, Finding, Subject, Website

MAX_DETAIL = 300


def case_key_of(finding_key: str) -> str:
    return finding_key.rsplit("|", 1)[0]


def build_items(session: Session, cases: Iterable[Case], *, include_closed: bool = False) -> list[dict]:
    cases = list(cases)
    websites = _websites(session, {c.website_number for c in cases if c.website_number})
    subjects = dict(
        session.execute(
            select(Subject.subject_number, Subject.name).where(Subject.subject_number.in_({c.subject_number for c in cases}))
        ).all()
    )
    findings = _findings(session, cases, include_closed)
    shots = _screenshots(session, cases)
    items = []
    for case in cases:
        catalog = declared(case.check)
        site = websites.get(case.website_number or "")
        if case.website_number:
            record = f"网站 {site['name'] if site else ''}（{case.website_number}）".replace(" （", "（")
        else:
            record = f"主体 {subjects.get(case.subject_number, '')}（{case.subject_number}）"
        rows = findings.get(case.key, [])
        domains = sorted({row.domain for row in rows if row.domain})
        field = _field(catalog.notice_field, catalog.notice_field_lists, domains, site)
        detail = "；".join(dict.fromkeys(_observed(row.summary, catalog.title) for row in rows if row.summary))
        detail = "" if detail == catalog.title else detail
        items.append({
            "case_id": case.id, "record": record, "field": field, "problem": catalog.title,
            "detail": detail[:MAX_DETAIL] + ("…" if len(detail) > MAX_DETAIL else ""),
            "requirement": catalog.remediation, "deadline": local_time(case.deadline),
            "critical": case.severity == CRITICAL,
            "screenshot_id": shots.get(case.id, 0),
        })
    return items


def _screenshots(session: Session, cases: list[Case]) -> dict[int, int]:
    """The evidence screenshot of each filing.*/content.* case: the id of its website's latest one taken. The
    customer sees it on the self-service page, under the personal link (scanner/serve/customer.py), the operator
    on the console's case page; a notice points the customer to the case on their page."""
    from scanner.store.screenshots import EVIDENCE_PREFIXES, latest_taken

    wanted = {c.website_number for c in cases if c.website_number and c.check.startswith(EVIDENCE_PREFIXES)}
    latest = latest_taken(session, wanted)
    return {c.id: latest[c.website_number] for c in cases
            if c.website_number in latest and c.check.startswith(EVIDENCE_PREFIXES)}


def _field(name: str, lists: Field, domains: list[str], site: dict | None) -> str:
    """The 相关字段 cell: the check's declared field, with the domains or the homepage it is about."""
    if lists == Field.FOUND_DOMAINS and domains:
        return f"{name}：" + "、".join(domains)
    if lists == Field.DOMAINS:
        return f"{name}：" + "、".join(domains or (site["domains"] if site else []))
    if lists == Field.HOMEPAGE:
        home = (site["homepage"] or (site["domains"] or [""])[0]) if site else ""
        return f"{name}：http://{home}/" if home else name
    return name


def _observed(summary: str, title: str) -> str:
    """A finding's summary without the check title it repeats ("<title>：<what was seen>")."""
    return summary[len(title) + 1 :] if summary.startswith(title + "：") else summary


def _websites(session: Session, numbers: set[str]) -> dict[str, dict]:
    if not numbers:
        return {}
    from scanner.store.models import Domain

    out: dict[str, dict] = {}
    ids: dict[int, str] = {}
    for row in session.execute(
        select(Website.id, Website.website_number, Website.name, Website.homepage).where(Website.website_number.in_(numbers))
    ):
        out[row.website_number] = {"name": row.name, "homepage": row.homepage, "domains": []}
        ids[row.id] = row.website_number
    if ids:
        for website_id, name in session.execute(
            select(Domain.website_id, Domain.name).where(Domain.website_id.in_(ids), Domain.removed_at.is_(None))
            .order_by(Domain.position)
        ):
            out[ids[website_id]]["domains"].append(name)
    return out


def _findings(session: Session, cases: list[Case], include_closed: bool) -> dict[str, list[Finding]]:
    keys = {case.key for case in cases}
    out: dict[str, list[Finding]] = defaultdict(list)
    numbers = {case.website_number or case.subject_number for case in cases}
    statement = select(Finding).where(
        (Finding.website_number.in_(numbers)) | (Finding.subject_number.in_(numbers) & Finding.website_number.is_(None))
    )
    if not include_closed:
        statement = statement.where(Finding.closed_at.is_(None))
    for row in session.scalars(statement.order_by(Finding.id)):
        key = case_key_of(row.key)
        if key in keys:
            out[key].append(row)
    if include_closed:  # keep the findings of the case's own period only
        for key, rows in out.items():
            out[key] = rows[-5:]
    return out
