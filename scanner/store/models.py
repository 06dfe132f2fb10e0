"""SQLAlchemy 2 models. The schema itself is owned by the Alembic migrations beside this file."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from core.statuses import FILED

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Id = BigInteger().with_variant(Integer, "sqlite")  # SQLite only autoincrements INTEGER PRIMARY KEY


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class RegistryImport(Base):
    __tablename__ = "registry_imports"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    counts: Mapped[dict] = mapped_column(JSON, default=dict)


class Subject(Base):
    __tablename__ = "subjects"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    subject_number: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(Text, default="")
    nature: Mapped[str] = mapped_column(String(32), default="")
    certificate_type: Mapped[str] = mapped_column(String(64), default="")
    certificate_number: Mapped[str] = mapped_column(String(64), default="")
    province: Mapped[str] = mapped_column(String(32), default="")
    address: Mapped[str] = mapped_column(Text, default="")
    customer_email: Mapped[str] = mapped_column(Text, default="")
    extra: Mapped[dict] = mapped_column(JSON, default=dict)
    content: Mapped[dict] = mapped_column(JSON, default=dict)  # the imported record, for change history
    fingerprint: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Website(Base):
    __tablename__ = "websites"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id", ondelete="CASCADE"), index=True)
    website_number: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(Text, default="")
    homepage: Mapped[str] = mapped_column(Text, default="")
    service_content: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=FILED)
    provider_code: Mapped[str] = mapped_column(String(32), default="")
    approved_at: Mapped[str] = mapped_column(String(10), default="")  # 审核通过日期 YYYY-MM-DD, when known
    extra: Mapped[dict] = mapped_column(JSON, default=dict)
    content: Mapped[dict] = mapped_column(JSON, default=dict)  # the imported record, for change history
    fingerprint: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Domain(Base):
    __tablename__ = "domains"
    __table_args__ = (UniqueConstraint("website_id", "name"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    website_id: Mapped[int] = mapped_column(ForeignKey("websites.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Contact(Base):
    """A principal (主体负责人, website_id NULL) or a website leader (网站负责人)."""

    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id", ondelete="CASCADE"), index=True)
    website_id: Mapped[int | None] = mapped_column(
        ForeignKey("websites.id", ondelete="CASCADE"), nullable=True, index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(Text, default="")
    mobile: Mapped[str] = mapped_column(String(64), default="", index=True)
    phone: Mapped[str] = mapped_column(String(64), default="")
    email: Mapped[str] = mapped_column(Text, default="")


class PreApproval(Base):
    __tablename__ = "pre_approvals"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    website_id: Mapped[int] = mapped_column(ForeignKey("websites.id", ondelete="CASCADE"), index=True)
    category: Mapped[str] = mapped_column(String(64))
    number: Mapped[str] = mapped_column(Text, default="")


class RegistryChange(Base):
    """What one import changed: the history the annual review reads."""

    __tablename__ = "registry_changes"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("registry_imports.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # subject | website
    number: Mapped[str] = mapped_column(String(64), index=True)
    change: Mapped[str] = mapped_column(String(16))  # added | changed | removed | restored
    before: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict | None] = mapped_column(JSON, nullable=True)


class Scan(Base):
    __tablename__ = "scans"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    state: Mapped[str] = mapped_column(String(16), default="running")
    selector: Mapped[dict] = mapped_column(JSON, default=dict)
    stats: Mapped[dict] = mapped_column(JSON, default=dict)


class Observation(Base):
    """Everything one scan saw for one website (zlib-compressed JSON), enough to re-run the checks."""

    __tablename__ = "observations"
    __table_args__ = (UniqueConstraint("scan_id", "website_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"), index=True)
    website_id: Mapped[int] = mapped_column(ForeignKey("websites.id", ondelete="CASCADE"), index=True)
    observed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(String(16))  # checked | not_checked
    reason: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Finding(Base):
    __tablename__ = "findings"
    __table_args__ = (Index("ix_findings_key_open", "key", "closed_at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[str] = mapped_column(String(400))  # check|subject|website|domain
    check: Mapped[str] = mapped_column(String(64), index=True)
    severity: Mapped[str] = mapped_column(String(16))
    subject_number: Mapped[str] = mapped_column(String(64), index=True)
    website_number: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    domain: Mapped[str | None] = mapped_column(String(255), nullable=True)
    summary: Mapped[str] = mapped_column(Text)
    evidence: Mapped[dict] = mapped_column(JSON, default=dict)
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    first_scan_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_scan_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True, index=True)
    seen_count: Mapped[int] = mapped_column(Integer, default=1)


class OwnershipCacheEntry(Base):
    __tablename__ = "ownership_cache"
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(Text, default="")
    network: Mapped[str] = mapped_column(String(64), default="")
    asn: Mapped[str] = mapped_column(String(32), default="")
    country: Mapped[str] = mapped_column(String(8), default="")
    fetched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RegistrationCacheEntry(Base):
    """RDAP answers about registrable domains, kept for `domains.cache_ttl_days`."""

    __tablename__ = "registration_cache"
    domain: Mapped[str] = mapped_column(String(255), primary_key=True)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    fetched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Case(Base):
    """A rectification case: one per (website or subject, check code) while it is active.

    `active_key` equals `key` while the case is active and is NULL once it is resolved or waived, so the
    unique index allows one active case per key and any number of closed ones.
    """

    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[str] = mapped_column(String(400), index=True)  # check|subject|website
    active_key: Mapped[str | None] = mapped_column(String(400), nullable=True, unique=True)
    check: Mapped[str] = mapped_column(String(64), index=True)
    severity: Mapped[str] = mapped_column(String(16))
    subject_number: Mapped[str] = mapped_column(String(64), index=True)
    website_number: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    recipient: Mapped[str] = mapped_column(Text, default="")
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    opened_scan_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True, index=True)
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    extensions: Mapped[int] = mapped_column(Integer, default=0)
    notice_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class CaseEvent(Base):
    """The audit trail: every state change of a case, when, by whom (operator, scan, sweep) and why."""

    __tablename__ = "case_events"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    from_state: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_state: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class Waiver(Base):
    """A code waived for a website or subject (false positive) until the page or record changes."""

    __tablename__ = "waivers"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[str] = mapped_column(String(400), index=True)
    case_id: Mapped[int] = mapped_column(BigInteger)
    fingerprint: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lapsed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class OutboxMessage(Base):
    """One email, rendered once and stored whole, so every attempt sends the same bytes and Message-ID.

    state: pending -> sending -> sent, or retry (after a 4xx/5xx, with next_attempt_at) -> ... -> failed.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_state_due", "state", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # notice | reminder | resolved | alert
    recipient: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    scan_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    case_ids: Mapped[list] = mapped_column(JSON, default=list)
    claimed_by: Mapped[str] = mapped_column(String(120), default="")


class Alert(Base):
    """Something an operator must look at: a held scan, an escalation, a message that cannot be sent."""

    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(32), index=True)
    scan_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    message: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class RescanRequest(Base):
    """A scan asked for by the schedule or an operator, queued in the database so it survives a restart."""

    __tablename__ = "rescans"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # nightly | operator | customer (申请复查 on the customer page)
    selector: Mapped[dict] = mapped_column(JSON, default=dict)  # Selector.as_dict() (what the scan runs)
    request: Mapped[dict] = mapped_column(JSON, default=dict)  # what was asked (checks, open cases, ...)
    state: Mapped[str] = mapped_column(String(16), index=True)  # queued | running | finished | failed
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    requested_by: Mapped[str] = mapped_column(String(120), default="")
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    scan_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    error: Mapped[str] = mapped_column(Text, default="")


class ConsoleSession(Base):
    """A console login: the cookie holds a random id, this table only its SHA-256 (never the API token)."""

    __tablename__ = "console_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    csrf: Mapped[str] = mapped_column(String(64))  # the per-session token every console form carries
    client: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class ReviewRound(Base):
    """An annual review round (年度审核, seed 000) of one province's websites filed through us."""

    __tablename__ = "review_rounds"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    province: Mapped[str] = mapped_column(String(8), index=True)  # the ICP abbreviation, e.g. 鄂
    starts_on: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD, Asia/Shanghai
    ends_on: Mapped[str] = mapped_column(String(10))  # the last day SMS are accepted: no extension (seed Q8)
    state: Mapped[str] = mapped_column(String(16), index=True)  # open | closed
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    opened_by: Mapped[str] = mapped_column(String(120), default="")
    # the registry history this round reads: changes of imports after `since_import_id` (the newest import
    # the previous round of the province had read when it closed), else (a first round) of imports after `since`
    since_import_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    import_id_at_open: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    import_id_at_close: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    reminders: Mapped[list] = mapped_column(JSON, default=list)  # local dates YYYY-MM-DD
    reminders_sent: Mapped[list] = mapped_column(JSON, default=list)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    report: Mapped[dict] = mapped_column(JSON, default=dict)


class ReviewItem(Base):
    """One website of a round: its 备案状态 for the SMS, the phone and platform number, and whether it is done.

    state: waiting (备案中: waits until approved, seed Q13) -> notified (its SMS is in a queued mail) -> done.
    A completion recorded after the round ended still counts (seed Q14: a corrected SMS is accepted).
    """

    __tablename__ = "review_items"
    __table_args__ = (UniqueConstraint("round_id", "website_number"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("review_rounds.id", ondelete="CASCADE"), index=True)
    website_number: Mapped[str] = mapped_column(String(64), index=True)
    subject_number: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(8), default="")  # 无变化 | 已更新 | 已注销 | "" (waiting)
    state: Mapped[str] = mapped_column(String(16), index=True)
    sms_text: Mapped[str] = mapped_column(Text, default="")
    phones: Mapped[list] = mapped_column(JSON, default=list)  # [{role, name, mobile, carrier, platform}]
    history: Mapped[dict] = mapped_column(JSON, default=dict)  # why this status: the changes read
    recipient: Mapped[str] = mapped_column(Text, default="")
    notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    notice_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    done_source: Mapped[str] = mapped_column(Text, default="")


class ContactVerification(Base):
    """One verification of one 主体负责人 or 网站负责人 (seed 002 负责人联系方式核验): a link and a code by email, the
    code by SMS. state: sent -> verified | bounced (every channel tried failed) | expired (the deadline passed).

    The code is never stored: it is an HMAC of the row (contacts.secret), so an SMS sent again says the same."""

    __tablename__ = "contact_verifications"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    subject_number: Mapped[str] = mapped_column(String(64), index=True)
    website_number: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    role: Mapped[str] = mapped_column(String(16))  # principal | leader
    name: Mapped[str] = mapped_column(Text, default="")
    mobile: Mapped[str] = mapped_column(String(64), default="")
    email: Mapped[str] = mapped_column(Text, default="")
    nonce: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), index=True)
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deadline: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    email_outbox_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    email_state: Mapped[str] = mapped_column(String(16), default="")  # "" (no email) | queued | sent | bounced
    sms_state: Mapped[str] = mapped_column(String(16), default="")  # "" (no SMS) | pending | sending | sent | rejected
    sms_detail: Mapped[str] = mapped_column(Text, default="")
    judged: Mapped[bool] = mapped_column(Boolean, default=False)  # its contact.unverified outcome is stored


class FilingLookupAnswer(Base):
    """One answer of the filing query service (MIIT 是否备案查询) about one of our websites: found (with the record),
    not_found (an explicit "no record"), or unknown (empty, rate-limited, captcha, error: could not check)."""

    __tablename__ = "filing_lookups"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    website_number: Mapped[str] = mapped_column(String(64), index=True)
    subject_number: Mapped[str] = mapped_column(String(64), index=True)
    asked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    day: Mapped[str] = mapped_column(String(10))  # the local date (Asia/Shanghai) of the answer
    answer: Mapped[str] = mapped_column(String(16))  # found | not_found | unknown
    reason: Mapped[str] = mapped_column(Text, default="")
    record: Mapped[dict] = mapped_column(JSON, default=dict)


class CustomerLink(Base):
    """One personal link to the customer self-service page, made for one notice or reminder to one recipient
    (customer.secret signs it; the nonce binds the token to this row). The page lists that recipient's cases."""

    __tablename__ = "customer_links"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    recipient: Mapped[str] = mapped_column(String(320), index=True)
    nonce: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CustomerRescan(Base):
    """A customer's 申请复查 of one case from the self-service page: the rescan it queued (rescans.id) and so its
    result; the rate limits count these rows (per case, per recipient)."""

    __tablename__ = "customer_rescans"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    recipient: Mapped[str] = mapped_column(String(320), index=True)
    link_id: Mapped[int] = mapped_column(BigInteger)
    rescan_id: Mapped[int] = mapped_column(BigInteger)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class Screenshot(Base):
    """Evidence: a homepage with a filing.* or content.* finding as one scan's browser showed it (JPEG images:
    the first viewport and the footer region), or why it could not be taken. Kept while the website has a case
    of those checks open and `screenshots.retention_days` after; the sweep deletes the rest
    (scanner.store.screenshots)."""

    __tablename__ = "screenshots"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"), index=True)
    website_number: Mapped[str] = mapped_column(String(64), index=True)
    url: Mapped[str] = mapped_column(Text, default="")
    taken_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    state: Mapped[str] = mapped_column(String(16))  # taken | failed
    reason: Mapped[str] = mapped_column(Text, default="")
    codes: Mapped[list] = mapped_column(JSON, default=list)  # the filing.*/content.* checks it is evidence for
    viewport: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    footer: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)  # both images
    detail: Mapped[dict] = mapped_column(JSON, default=dict)  # ms, requests refused by the guard
