"""Run the registry.* checks over the stored registry (at every scan and after every import).

Memory stays flat with the registry's size: the cross-subject index (which subjects share a mobile number or
a certificate) is grouped by the database in a temporary table and only the keys two or more subjects share
are kept (the checks look for the *others*), and the subjects are then read, judged and stored a batch at a
time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from sqlalchemy import Column, Integer, MetaData, String, Table, Text, and_, func, insert, or_, select, tuple_
from sqlalchemy.orm import aliased

from checks import evaluate_subject as judge_subject
from checks import evaluate_website as judge_website
from checks.registry import RegistryIndex, certificate_key, mobile_key
from core import clock
from core.records import Contact, SubjectView, WebsiteView
from core.statuses import CANCELLED, FAILED
from scanner import findings as findings_store
from scanner.store.db import Store
from scanner.store.models import Contact as ContactRow
from scanner.store.models import ContactVerification, Domain, Subject, Website

BATCH = 500  # subjects read, judged and stored at a time
KEY_BATCH = 5000  # rows per read while building the index


def _subject_views(rows) -> dict[int, SubjectView]:
    return {row.id: SubjectView(row.subject_number, row.name, row.nature, row.certificate_type,
                                row.certificate_number, row.province) for row in rows}


def _fill(session, subjects: dict[int, SubjectView]) -> None:
    """Each subject's live websites (with their domains) and contacts, as load_views always had them."""
    ids = list(subjects)
    websites: dict[int, WebsiteView] = {}
    number_of: dict[int, str] = {}
    for row in session.execute(
        select(Website.id, Website.subject_id, Website.website_number, Website.name, Website.status)
        .where(Website.subject_id.in_(ids), Website.removed_at.is_(None)).order_by(Website.id)
    ):
        view = WebsiteView(row.website_number, row.name, row.status)
        websites[row.id] = view
        number_of[row.id] = row.website_number
        subjects[row.subject_id].websites.append(view)
    for website_id, name in session.execute(
        select(Domain.website_id, Domain.name).join(Website, Website.id == Domain.website_id)
        .where(Website.subject_id.in_(ids), Website.removed_at.is_(None), Domain.removed_at.is_(None))
        .order_by(Domain.website_id, Domain.position)
    ):
        websites[website_id].domains.append(name)
    rejected = _rejected_sms(session, [view.subject_number for view in subjects.values()])
    for row in session.execute(
        select(ContactRow.subject_id, ContactRow.website_id, ContactRow.role, ContactRow.name, ContactRow.mobile,
               ContactRow.phone).where(ContactRow.subject_id.in_(ids)).order_by(ContactRow.id)
    ):
        if row.website_id is not None and row.website_id not in websites:
            continue
        subject = subjects[row.subject_id]
        website_number = number_of.get(row.website_id) if row.website_id else None
        refused = rejected.get((subject.subject_number, website_number, row.role, row.mobile.strip()), "")
        subject.contacts.append(Contact(row.role, row.name, row.mobile, row.phone, website_number, refused))


def _rejected_sms(session, subject_numbers: list[str]) -> dict[tuple, str]:
    """(subject, website, role, mobile) -> the gateway's reason, where the latest contact verification's SMS to
    that mobile was rejected (evidence for registry.phone_invalid)."""
    latest: dict[tuple, ContactVerification] = {}
    for row in session.scalars(select(ContactVerification).where(ContactVerification.subject_number.in_(subject_numbers))
                               .order_by(ContactVerification.id)):
        latest[(row.subject_number, row.website_number, row.role, row.mobile)] = row
    return {key: row.sms_detail or "rejected" for key, row in latest.items() if row.sms_state == "rejected"}


SUBJECT_COLUMNS = (Subject.id, Subject.subject_number, Subject.name, Subject.nature, Subject.certificate_type,
                   Subject.certificate_number, Subject.province)


def iter_views(store: Store, numbers: list[str] | None = None, size: int = BATCH) -> Iterator[list[SubjectView]]:
    """The live registry as the checks see it, `size` subjects at a time (all, or those numbered)."""
    last_id = 0
    pending = sorted(set(numbers)) if numbers is not None else None
    while True:
        with store.session() as session:
            query = select(*SUBJECT_COLUMNS).where(Subject.removed_at.is_(None))
            if pending is None:
                query = query.where(Subject.id > last_id).order_by(Subject.id).limit(size)
            else:
                if not pending:
                    return
                chunk, pending = pending[:size], pending[size:]
                query = query.where(Subject.subject_number.in_(chunk)).order_by(Subject.id)
            rows = session.execute(query).all()
            if not rows:
                if pending is None:
                    return
                continue
            last_id = rows[-1].id
            subjects = _subject_views(rows)
            _fill(session, subjects)
        yield list(subjects.values())


def load_views(store: Store) -> list[SubjectView]:
    """The whole live registry at once (tools and tests; the scan streams it with iter_views)."""
    return [subject for batch in iter_views(store) for subject in batch]


def build_index(store: Store) -> RegistryIndex:
    """Which subjects share a mobile number or a certificate, for the keys shared by two or more only. The
    keys are grouped in a temporary table, so memory does not grow with the registry."""
    keys = Table("registry_index_keys", MetaData(), Column("kind", String(1)), Column("key", Text),
                 Column("subject_id", Integer), prefixes=["TEMPORARY"])
    index = RegistryIndex()
    website, owner = aliased(Website), aliased(Subject)
    live_contact = or_(ContactRow.website_id.is_(None), and_(website.removed_at.is_(None), owner.removed_at.is_(None)))
    with store.engine.connect() as conn:
        keys.create(conn)
        try:
            last_id = 0
            while True:
                rows = conn.execute(
                    select(ContactRow.id, ContactRow.subject_id, ContactRow.mobile)
                    .join(Subject, and_(Subject.id == ContactRow.subject_id, Subject.removed_at.is_(None)))
                    .outerjoin(website, website.id == ContactRow.website_id)
                    .outerjoin(owner, owner.id == website.subject_id)
                    .where(ContactRow.id > last_id, live_contact).order_by(ContactRow.id).limit(KEY_BATCH)
                ).all()
                if not rows:
                    break
                last_id = rows[-1].id
                found = [{"kind": "m", "key": key, "subject_id": row.subject_id}
                         for row in rows if len(key := mobile_key(row.mobile)) == 11]
                if found:
                    conn.execute(insert(keys), found)
            last_id = 0
            while True:
                rows = conn.execute(
                    select(Subject.id, Subject.certificate_type, Subject.certificate_number)
                    .where(Subject.id > last_id, Subject.removed_at.is_(None)).order_by(Subject.id).limit(KEY_BATCH)
                ).all()
                if not rows:
                    break
                last_id = rows[-1].id
                found = [{"kind": "c", "key": certificate_key(row.certificate_type, row.certificate_number),
                          "subject_id": row.id} for row in rows if row.certificate_number.strip()]
                if found:
                    conn.execute(insert(keys), found)
            shared = (select(keys.c.kind, keys.c.key).group_by(keys.c.kind, keys.c.key)
                      .having(func.count(func.distinct(keys.c.subject_id)) > 1))
            for kind, key, number in conn.execute(
                select(keys.c.kind, keys.c.key, Subject.subject_number).join(Subject, Subject.id == keys.c.subject_id)
                .where(tuple_(keys.c.kind, keys.c.key).in_(shared))
            ):
                target = index.subjects_by_mobile if kind == "m" else index.subjects_by_certificate
                target[key].add(number)
        finally:
            keys.drop(conn)
            conn.commit()
    return index


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

    index = build_index(store)
    wanted = selected_subject_numbers(store, selector) if selector is not None else None
    by_code: Counter = Counter()
    now = clock.now()
    for subjects in iter_views(store, wanted):
        pending: list[findings_store.Verdicts] = []
        for subject in subjects:
            for verdict in evaluate_subject(subject, index):
                for outcome in verdict.outcomes:
                    if outcome.state == FAILED:
                        by_code[outcome.code] += len(outcome.findings)
                pending.append(verdict)
        _store(store, scan_id, now, pending)
    return by_code


def _store(store: Store, scan_id: int | None, now, verdicts: list[findings_store.Verdicts]) -> None:
    if not verdicts:
        return
    with store.transaction() as session:
        findings_store.apply(session, scan_id, now, verdicts)
