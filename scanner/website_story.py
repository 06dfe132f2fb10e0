"""A website's whole story, for the operator on the phone with its customer: the registry record and its change
history, what every scan saw (DNS chain, addresses and their owners, fetch attempts, status, rendered or not),
findings past and present, cases with their audit trails, every notice and reminder with its delivery state, and
the operator's actions. Plain dicts, so the CLI (`beian website show`) and the console render the same thing.

And the search that finds a website by its number, a domain, its subject's name or the customer's email.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.observation import Observation as Seen
from scanner.findings import as_contract
from scanner.notices.compose import local_time
from scanner.reports.exports import case_row
from scanner.store.models import (
    Case,
    CaseEvent,
    Contact,
    Domain,
    Finding,
    Observation,
    OutboxMessage,
    PreApproval,
    RegistryChange,
    RegistryImport,
    RescanRequest,
    Subject,
    Website,
)
from scanner.store.observations import decode

MAX_SCANS = 30  # observations shown, newest first
MAX_SEARCH = 50
# the actors of CaseBook.reconcile runs (scanner/cases.py and its callers): everything else is a person or a script
AUTOMATIC = ("sweep", "miit cross-check", "contact verification")
AUTOMATIC_PREFIXES = ("scan ", "annual review ")


class NotFound(Exception):
    """No website with that number; one line."""


def is_operator(actor: str) -> bool:
    return not (actor in AUTOMATIC or actor.startswith(AUTOMATIC_PREFIXES))


def search(session: Session, text: str, limit: int = MAX_SEARCH) -> list[dict]:
    """Websites whose number, a domain, the subject's name or the customer email contains `text` (case-insensitive)."""
    text = text.strip()
    if not text:
        return []
    by_domain = select(Domain.website_id).where(Domain.name.icontains(text, autoescape=True))
    statement = (
        select(Website, Subject).join(Subject, Subject.id == Website.subject_id)
        .where(or_(Website.website_number.icontains(text, autoescape=True), Website.id.in_(by_domain),
                   Subject.name.icontains(text, autoescape=True), Subject.customer_email.icontains(text, autoescape=True),
                   Subject.subject_number.icontains(text, autoescape=True)))
        .order_by(Website.website_number).limit(limit)
    )
    rows = session.execute(statement).all()
    domains = _domains(session, [w.id for w, _ in rows])
    return [{"website_number": w.website_number, "name": w.name, "status": w.status, "removed": w.removed_at is not None,
             "domains": domains.get(w.id, []), "subject_number": s.subject_number, "subject_name": s.name,
             "customer_email": s.customer_email, "province": s.province} for w, s in rows]


def _domains(session: Session, website_ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    if not website_ids:
        return out
    for website_id, name in session.execute(
        select(Domain.website_id, Domain.name).where(Domain.website_id.in_(website_ids), Domain.removed_at.is_(None))
        .order_by(Domain.website_id, Domain.position)
    ):
        out.setdefault(website_id, []).append(name)
    return out


def story(session: Session, website_number: str) -> dict:
    website = session.scalar(select(Website).where(Website.website_number == website_number.strip()))
    if website is None:
        raise NotFound(f"no website {website_number.strip()[:80]!r} in the registry")
    subject = session.get(Subject, website.subject_id)
    return {
        "record": _record(session, website, subject),
        "changes": _changes(session, website.website_number, subject.subject_number),
        "scans": [_scan_summary(o) for o in session.scalars(
            select(Observation).where(Observation.website_id == website.id).order_by(Observation.scan_id.desc())
            .limit(MAX_SCANS))],
        "findings": _findings(session, website.website_number, subject.subject_number),
        **_cases_and_messages(session, website.website_number, subject.subject_number),
        "rescans": _rescans(session, website.website_number, subject.subject_number),
    }


def _record(session: Session, website: Website, subject: Subject) -> dict:
    contacts = session.scalars(select(Contact).where(
        Contact.subject_id == subject.id, or_(Contact.website_id.is_(None), Contact.website_id == website.id)))
    return {
        "website_number": website.website_number, "name": website.name, "homepage": website.homepage,
        "status": website.status, "service_content": website.service_content, "provider_code": website.provider_code,
        "approved_at": website.approved_at, "domains": _domains(session, [website.id]).get(website.id, []),
        "removed_at": local_time(website.removed_at), "updated_at": local_time(website.updated_at),
        "pre_approvals": [{"category": p.category, "number": p.number} for p in session.scalars(
            select(PreApproval).where(PreApproval.website_id == website.id))],
        "subject": {"subject_number": subject.subject_number, "name": subject.name, "nature": subject.nature,
                    "province": subject.province, "certificate_type": subject.certificate_type,
                    "certificate_number": subject.certificate_number, "customer_email": subject.customer_email,
                    "removed_at": local_time(subject.removed_at)},
        "contacts": [{"role": c.role, "name": c.name, "mobile": c.mobile, "email": c.email} for c in contacts],
    }


def _changes(session: Session, website_number: str, subject_number: str) -> list[dict]:
    rows = session.execute(
        select(RegistryChange, RegistryImport.imported_at, RegistryImport.source)
        .join(RegistryImport, RegistryImport.id == RegistryChange.import_id)
        .where(or_((RegistryChange.kind == "website") & (RegistryChange.number == website_number),
                   (RegistryChange.kind == "subject") & (RegistryChange.number == subject_number)))
        .order_by(RegistryChange.import_id.desc(), RegistryChange.id)
    )
    return [{"at": local_time(at), "import_id": c.import_id, "source": source, "kind": c.kind, "number": c.number,
             "change": c.change, "before": c.before or {}, "after": c.after or {}} for c, at, source in rows]


def _scan_summary(row: Observation) -> dict:
    summary = {"scan_id": row.scan_id, "at": local_time(row.observed_at), "outcome": row.outcome, "reason": row.reason}
    try:
        seen: Seen = decode(row.data)
    except Exception as exc:  # an unreadable blob is shown as such, never breaks the page
        return summary | {"error": f"observation unreadable: {type(exc).__name__}", "dns": [], "attempts": []}
    fetch, page = seen.fetch, seen.page
    render = page.render if page else None
    summary |= {
        "homepage": seen.homepage,
        "dns": [{"name": name, "outcome": entry.outcome, "chain": list(entry.chain), "addresses": list(entry.addresses),
                 "detail": entry.detail,
                 "owners": [{"address": o.address, "kind": o.kind, "owner": o.owner or o.network, "country": o.country,
                             "region": o.region} for o in (entry.owners or [])]}
                for name, entry in seen.dns.items()],
        "fetch_state": fetch.state if fetch else "",
        "status": fetch.status if fetch else None,
        "final_url": fetch.final_url if fetch else None,
        "failure": (fetch.failure or fetch.reason) if fetch else "",
        "attempts": [{"url": a.url, "status": a.status, "address": a.address, "elapsed_ms": a.elapsed_ms,
                      "failure": a.failure or a.error or ""} for a in (fetch.attempts if fetch else [])],
        "title": page.title if page else "",
        "rendered": render.state if render else "",
    }
    return summary


def _findings(session: Session, website_number: str, subject_number: str) -> list[dict]:
    rows = session.scalars(
        select(Finding).where(or_(Finding.website_number == website_number,
                                  (Finding.subject_number == subject_number) & Finding.website_number.is_(None)))
        .order_by(Finding.closed_at.is_not(None), Finding.last_seen.desc(), Finding.id.desc())
    )
    return [as_contract(f) | {"open": f.closed_at is None, "closed_at": local_time(f.closed_at)} for f in rows]


def _cases_and_messages(session: Session, website_number: str, subject_number: str) -> dict:
    cases = list(session.scalars(
        select(Case).where(or_(Case.website_number == website_number,
                               (Case.subject_number == subject_number) & Case.website_number.is_(None)))
        .order_by(Case.id.desc())))
    ids = [c.id for c in cases]
    events: dict[int, list[dict]] = {}
    actions = []
    if ids:
        for e in session.scalars(select(CaseEvent).where(CaseEvent.case_id.in_(ids)).order_by(CaseEvent.id)):
            event = {"case_id": e.case_id, "at": local_time(e.at), "from": e.from_state, "to": e.to_state,
                     "actor": e.actor, "reason": e.reason}
            events.setdefault(e.case_id, []).append(event)
            if is_operator(e.actor):
                actions.append(event)
    messages = []
    recipients = {c.recipient for c in cases if c.recipient}
    if recipients:
        wanted = set(ids)
        for m in session.scalars(select(OutboxMessage).where(OutboxMessage.recipient.in_(recipients))
                                 .order_by(OutboxMessage.id)):
            covered = sorted(wanted.intersection(m.case_ids or []))
            if covered:
                messages.append({"id": m.id, "kind": m.kind, "recipient": m.recipient, "subject": m.subject,
                                 "state": m.state, "attempts": m.attempts, "created_at": local_time(m.created_at),
                                 "sent_at": local_time(m.sent_at), "last_error": m.last_error, "cases": covered})
    return {"cases": [case_row(c) | {"events": events.get(c.id, [])} for c in cases], "messages": messages,
            "actions": actions}


def _rescans(session: Session, website_number: str, subject_number: str) -> list[dict]:
    out = []
    for r in session.scalars(select(RescanRequest).order_by(RescanRequest.id.desc()).limit(500)):
        asked = r.request or {}
        if website_number in asked.get("websites", []) or subject_number in asked.get("subjects", []):
            out.append({"id": r.id, "state": r.state, "requested_at": local_time(r.requested_at),
                        "requested_by": r.requested_by, "scan_id": r.scan_id})
    return out[:20]
