"""Run the registry.* checks over the stored registry (at every scan and after every import)."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from checks import evaluate_subject as judge_subject
from checks import evaluate_website as judge_website
from checks.registry import RegistryIndex
from core import clock
from core.records import Contact, SubjectView, WebsiteView
from core.statuses import CANCELLED, FAILED
from scanner import findings as findings_store
from scanner.store.db import Store
from scanner.store.models import Contact as ContactRow
from scanner.store.models import ContactVerification, Domain, Subject, Website

BATCH = 2000


def load_views(store: Store) -> list[SubjectView]:
    """The live registry, compactly: one query per table."""
    with store.session() as session:
        subjects = {
            row.id: SubjectView(row.subject_number, row.name, row.nature, row.certificate_type,
                                row.certificate_number, row.province)
            for row in session.execute(
                select(Subject.id, Subject.subject_number, Subject.name, Subject.nature, Subject.certificate_type,
                       Subject.certificate_number, Subject.province).where(Subject.removed_at.is_(None))
            )
        }
        websites: dict[int, WebsiteView] = {}
        number_of: dict[int, str] = {}
        for row in session.execute(
            select(Website.id, Website.subject_id, Website.website_number, Website.name, Website.status).where(
                Website.removed_at.is_(None)
            )
        ):
            subject = subjects.get(row.subject_id)
            if subject is None:
                continue
            view = WebsiteView(row.website_number, row.name, row.status)
            websites[row.id] = view
            number_of[row.id] = row.website_number
            subject.websites.append(view)
        for website_id, name in session.execute(
            select(Domain.website_id, Domain.name).where(Domain.removed_at.is_(None)).order_by(Domain.position)
        ):
            if website_id in websites:
                websites[website_id].domains.append(name)
        rejected = _rejected_sms(session)
        for row in session.execute(
            select(ContactRow.subject_id, ContactRow.website_id, ContactRow.role, ContactRow.name, ContactRow.mobile,
                   ContactRow.phone)
        ):
            subject = subjects.get(row.subject_id)
            if subject is None or (row.website_id is not None and row.website_id not in websites):
                continue
            website_number = number_of.get(row.website_id) if row.website_id else None
            refused = rejected.get((subject.subject_number, website_number, row.role, row.mobile.strip()), "")
            subject.contacts.append(Contact(row.role, row.name, row.mobile, row.phone, website_number, refused))
    return list(subjects.values())


def _rejected_sms(session) -> dict[tuple, str]:
    """(subject, website, role, mobile) -> the gateway's reason, where the latest contact verification's SMS to
    that mobile was rejected (evidence for registry.phone_invalid)."""
    latest: dict[tuple, ContactVerification] = {}
    for row in session.scalars(select(ContactVerification).order_by(ContactVerification.id)):
        latest[(row.subject_number, row.website_number, row.role, row.mobile)] = row
    return {key: row.sms_detail or "rejected" for key, row in latest.items() if row.sms_state == "rejected"}


def evaluate_subject(subject: SubjectView, index: RegistryIndex) -> list[findings_store.Verdicts]:
    verdicts = [findings_store.Verdicts(subject.subject_number, None, judge_subject(subject, index))]
    for website in subject.websites:
        if website.status == CANCELLED:
            continue
        verdicts.append(findings_store.Verdicts(subject.subject_number, website.website_number,
                                                judge_website(website, subject, index)))
    return verdicts


def run_registry_checks(config, store: Store, selector=None, scan_id: int | None = None) -> Counter:
    """Check every subject (or those of the selection) and store the findings. Returns findings by code."""
    from scanner.targets import selected_subject_numbers

    subjects = load_views(store)
    index = RegistryIndex.build(subjects)
    wanted = selected_subject_numbers(store, selector) if selector is not None else None
    if wanted is not None:
        wanted_set = set(wanted)
        subjects = [s for s in subjects if s.subject_number in wanted_set]
    by_code: Counter = Counter()
    now = clock.now()
    pending: list[findings_store.Verdicts] = []
    for subject in subjects:
        for verdict in evaluate_subject(subject, index):
            for outcome in verdict.outcomes:
                if outcome.state == FAILED:
                    by_code[outcome.code] += len(outcome.findings)
            pending.append(verdict)
        if len(pending) >= BATCH:
            _store(store, scan_id, now, pending)
            pending = []
    _store(store, scan_id, now, pending)
    return by_code


def _store(store: Store, scan_id: int | None, now, verdicts: list[findings_store.Verdicts]) -> None:
    if not verdicts:
        return
    with store.transaction() as session:
        findings_store.apply(session, scan_id, now, verdicts)
