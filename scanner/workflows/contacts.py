"""Contact self-verification (负责人联系方式核验, seed 002): every 主体负责人 and 网站负责人 proves their contact details.

`beian contacts verify` gives each contact of the registry (the 主体负责人 of every live subject, the 网站负责人
of every live website) one verification: an email to the contact's own address with a link and a six-digit
code, queued in the outbox (one contact per transaction, so a rerun sends nothing twice), and the code alone
by SMS through an adapter (`SmsSender`; `WebhookSms` posts to `contacts.sms_webhook_url`). The link is
`<contacts.public_url>/verify/<token>` on `beian serve`, where the contact types the code: no operator token;
the token is HMAC-signed (`contacts.secret`), names its expiry and is single-use. The code is never stored:
it is an HMAC of the verification, so an SMS sent again carries the same code.

State per contact: sent -> verified, bounced (every channel we tried failed: the email was refused, the SMS
rejected) or expired (the deadline, `contacts.working_days` Chinese working days after sending, passed).
An expired verification becomes a `contact.unverified` finding and so a case (notice, deadline, reminders,
escalation); a rejected SMS is also evidence for `registry.phone_invalid`.
"""

from __future__ import annotations

import hmac
import json
import secrets
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from checks import evaluate_workflow
from core import clock
from core.config import Config
from core.records import ContactState
from core.statuses import CANCELLED
from scanner import findings as findings_store
from scanner.notices.compose import local_time, render
from scanner.notices.outbox import queue_message
from scanner.signed_links import MIN_SECRET, mac, parse, sign
from scanner.store.db import Store, as_utc, shanghai_iso
from scanner.store.models import Contact, ContactVerification, OutboxMessage, Subject, Website
from scanner.workdays import WorkCalendar, deadline_after

CODE = "contact.unverified"
SENT, VERIFIED, BOUNCED, EXPIRED = "sent", "verified", "bounced", "expired"
STATES = (SENT, VERIFIED, BOUNCED, EXPIRED)
OPEN_STATES = (SENT, BOUNCED)
ROLE_LABELS = {"principal": "主体负责人", "leader": "网站负责人"}


class VerifyError(Exception):
    """An operator request or a verification attempt that cannot be done; one line (Chinese for customers)."""


# -- SMS ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SmsResult:
    state: str  # sent | rejected (the number cannot get it: evidence) | retry (the gateway failed: try again later)
    detail: str = ""


class SmsSender(Protocol):
    def send(self, mobile: str, text: str) -> SmsResult: ...


class WebhookSms:
    """POST {"to": mobile, "text": text} as JSON with a Bearer token. 2xx: sent; 4xx (but 401/403/429): rejected,
    the gateway's `error` as the reason; anything else (5xx, 401/403/429, no answer): retry later."""

    def __init__(self, url: str, token: str, timeout_s: float) -> None:
        self.url, self.token, self.timeout_s = url, token, timeout_s

    def send(self, mobile: str, text: str) -> SmsResult:
        body = json.dumps({"to": mobile, "text": text}, ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Content-Type": "application/json", **({"Authorization": f"Bearer {self.token}"} if self.token else {})})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as answer:  # noqa: S310 - configured URL
                return SmsResult("sent", _reason(answer.read()) or "accepted")
        except urllib.error.HTTPError as exc:
            reason = _reason(exc.read()) or f"HTTP {exc.code}"
            if 400 <= exc.code < 500 and exc.code not in (401, 403, 408, 429):
                return SmsResult("rejected", reason)
            return SmsResult("retry", f"HTTP {exc.code}: {reason}")
        except (OSError, ValueError) as exc:
            return SmsResult("retry", f"{type(exc).__name__}: {exc}")


def _reason(raw: bytes) -> str:
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return ""
    return str(data.get("error") or data.get("id") or "") if isinstance(data, dict) else ""


def sms_sender(config: Config) -> SmsSender | None:
    c = config.contacts
    return WebhookSms(c.sms_webhook_url, c.sms_token, c.sms_timeout_s) if c.sms_webhook_url else None


# -- tokens and codes -----------------------------------------------------------------------------------------------
def code_of(secret: str, row: ContactVerification) -> str:
    return f"{int.from_bytes(mac(secret, f'code|{row.id}|{row.nonce}')[:8], 'big') % 1_000_000:06d}"


def token_of(secret: str, row: ContactVerification) -> str:
    return sign(secret, "link", row.id, int(as_utc(row.deadline).timestamp()), row.nonce)


@dataclass
class VerifyReport:
    contacts: int = 0
    created: int = 0
    skipped: int = 0  # an open or verified verification exists
    no_channel: int = 0  # neither a mobile nor an email on record
    messages: int = 0
    sms_sent: int = 0
    sms_rejected: int = 0
    sms_waiting: int = 0
    bounced: int = 0
    expired: int = 0
    cases: str = ""
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        parts = [f"{n} {label}" for label, n in (
            ("contacts", self.contacts), ("verifications sent", self.created), ("already open or verified", self.skipped),
            ("unreachable (no email; no mobile or no SMS gateway)", self.no_channel), ("SMS sent", self.sms_sent), ("SMS rejected", self.sms_rejected),
            ("SMS waiting for the gateway", self.sms_waiting), ("bounced", self.bounced), ("expired", self.expired),
        ) if n]
        text = (", ".join(parts) or "no changes") + f"; {self.messages} mails queued"
        return text + (f"; {self.cases}" if self.cases else "")


class ContactVerifier:
    def __init__(self, config: Config, store: Store, now: datetime | None = None, sms: SmsSender | None = None) -> None:
        self.config = config
        self.store = store
        self.now = now or clock.now()
        self.sms = sms if sms is not None else sms_sender(config)

    def _secret(self) -> str:
        secret = self.config.contacts.secret
        if len(secret) < MIN_SECRET:
            raise VerifyError("contacts.secret must be set (at least 16 characters): it signs the verification links")
        return secret

    def link(self, token: str) -> str:
        base = self.config.contacts.public_url or f"http://{self.config.serve.listen}"
        return f"{base}/verify/{token}"

    # -- sending -----------------------------------------------------------------------------------------------
    def send(self, subjects: Iterable[str] = (), *, again: bool = False, actor: str = "operator") -> VerifyReport:
        """A verification for every contact (of these subjects) without an open or verified one (`again`: also
        those verified before); then their SMS."""
        secret = self._secret()
        report = VerifyReport()
        wanted = set(subjects)
        calendar = WorkCalendar.from_config(self.config.deadlines)
        deadline = deadline_after(self.now, self.config.contacts.working_days, self.config.deadlines, calendar)
        contacts = self._contacts(wanted)
        report.contacts = len(contacts)
        with self.store.session() as session:
            latest = _latest(session, {c["subject_number"] for c in contacts})
        for contact in contacts:
            key = (contact["subject_number"], contact["website_number"], contact["role"])
            previous = latest.get(key)
            if previous is not None and (previous.state in OPEN_STATES or (previous.state == VERIFIED and not again)):
                report.skipped += 1
                continue
            if not contact["email"] and not (contact["mobile"] and self.sms is not None):
                report.no_channel += 1  # no email, and no mobile or no SMS gateway to reach it
                continue
            with self.store.transaction() as session:  # one contact per transaction: a rerun sends nothing twice
                row = ContactVerification(
                    subject_number=contact["subject_number"], website_number=contact["website_number"],
                    role=contact["role"], name=contact["name"], mobile=contact["mobile"], email=contact["email"],
                    nonce=secrets.token_hex(16), state=SENT, sent_at=self.now, deadline=deadline, attempts=0,
                    email_state="queued" if contact["email"] else "", sms_detail="", judged=False,
                    sms_state="pending" if contact["mobile"] and self.sms is not None else "")
                session.add(row)
                session.flush()
                if contact["email"]:
                    context = {"name": contact["name"], "role": ROLE_LABELS[contact["role"]],
                               "subject_name": contact["subject_name"], "subject_number": contact["subject_number"],
                               "website_number": contact["website_number"] or "", "website_name": contact["website_name"],
                               "mobile": contact["mobile"], "link": self.link(token_of(secret, row)),
                               "code": code_of(secret, row), "deadline": local_time(deadline),
                               "working_days": self.config.contacts.working_days, "sms": bool(row.sms_state)}
                    rendered = render(self.config, "verify", contact["email"], context, now=self.now)
                    message = queue_message(rendered, "verify", contact["email"], self.now, None, [])
                    session.add(message)
                    session.flush()
                    row.email_outbox_id = message.id
                    report.messages += 1
                report.created += 1
        self.deliver_sms(report)
        return report

    def _contacts(self, wanted: set[str]) -> list[dict]:
        with self.store.session() as session:
            subjects = {row.id: row for row in session.execute(
                select(Subject.id, Subject.subject_number, Subject.name).where(Subject.removed_at.is_(None)))
                if not wanted or row.subject_number in wanted}
            websites = {row.id: row for row in session.execute(
                select(Website.id, Website.subject_id, Website.website_number, Website.name).where(
                    Website.removed_at.is_(None), Website.status != CANCELLED)) if row.subject_id in subjects}
            out = []
            for row in session.execute(select(Contact).order_by(Contact.id)):
                contact = row[0]
                subject = subjects.get(contact.subject_id)
                if subject is None or (contact.website_id is not None and contact.website_id not in websites):
                    continue
                site = websites.get(contact.website_id) if contact.website_id else None
                out.append({"subject_number": subject.subject_number, "subject_name": subject.name,
                            "website_number": site.website_number if site else None,
                            "website_name": site.name if site else "", "role": contact.role, "name": contact.name,
                            "mobile": contact.mobile.strip(), "email": contact.email.strip()})
        return out

    def deliver_sms(self, report: VerifyReport) -> None:
        """Each pending SMS: claimed (committed) before it is handed to the gateway, then marked sent or rejected.
        A gateway that fails puts it back and stops the run; a kill after the claim leaves it `sending`, which the
        next run sends again (the same code: at least once)."""
        if self.sms is None:
            return
        secret = self._secret()
        with self.store.transaction() as session:
            for row in session.scalars(select(ContactVerification).where(ContactVerification.sms_state == "sending")):
                row.sms_state = "pending"  # an interrupted run: in doubt, sent again
            ids = list(session.scalars(select(ContactVerification.id).where(
                ContactVerification.sms_state == "pending", ContactVerification.state.in_(OPEN_STATES))
                .order_by(ContactVerification.id)))
        for position, row_id in enumerate(ids):
            with self.store.transaction() as session:
                row = session.get(ContactVerification, row_id)
                if row.sms_state != "pending":
                    continue
                row.sms_state = "sending"
                mobile, text = row.mobile, self._sms_text(secret, row)
            result = self.sms.send(mobile, text)
            with self.store.transaction() as session:
                row = session.get(ContactVerification, row_id)
                if result.state == "retry":
                    row.sms_state, row.sms_detail = "pending", result.detail[:500]
                    report.sms_waiting += len(ids) - position
                    report.errors.append(f"SMS gateway: {result.detail}")
                    return
                row.sms_state, row.sms_detail = result.state, result.detail[:500]
                if result.state == "sent":
                    report.sms_sent += 1
                else:
                    report.sms_rejected += 1

    def _sms_text(self, secret: str, row: ContactVerification) -> str:
        """The code alone; a contact without an email on record gets the link in the SMS too (else they could
        not reach the page)."""
        where = "核验邮件的链接页面" if row.email else f"核验页面 {self.link(token_of(secret, row))} "
        return (f"【{self.config.provider.name}】备案{ROLE_LABELS.get(row.role, '负责人')}联系方式核验验证码：{code_of(secret, row)}，"
                f"请于 {local_time(row.deadline)} 前在{where}填写。如非本人备案，请忽略本短信。")

    # -- the public page -------------------------------------------------------------------------------------------
    def check_token(self, token: str) -> ContactVerification:
        secret = self._secret()
        parsed = parse(token)
        if parsed is None:
            raise VerifyError("核验链接无效")
        row_id, expiry, signature = parsed
        with self.store.session() as session:
            row = session.get(ContactVerification, row_id)
        if row is None or not hmac.compare_digest(token_of(secret, row), f"{row_id}.{expiry}.{signature}"):
            raise VerifyError("核验链接无效")
        if row.state == VERIFIED:
            raise VerifyError("该联系方式已完成核验，链接已失效，无需再次操作")
        if row.state == EXPIRED or self.now.timestamp() > expiry:
            raise VerifyError(f"核验链接已于 {local_time(row.deadline)} 过期，请联系我们重新发送")
        if row.attempts >= self.config.contacts.max_attempts:
            raise VerifyError("验证码错误次数过多，该链接已锁定，请联系我们重新发送")
        return row

    def verify(self, token: str, code: str) -> ContactVerification:
        """The contact typed `code` on the page of `token`: verified (single use), or VerifyError in Chinese."""
        secret = self._secret()
        row = self.check_token(token)
        refused = ""
        with self.store.transaction() as session:
            row = session.get(ContactVerification, row.id)
            if row.state not in OPEN_STATES:
                refused = "该联系方式已完成核验，链接已失效，无需再次操作"
            elif not hmac.compare_digest(code.strip().encode(), code_of(secret, row).encode()):
                row.attempts += 1  # committed with the refusal
                left = self.config.contacts.max_attempts - row.attempts
                refused = f"验证码不正确，还可尝试 {left} 次" if left > 0 else "验证码错误次数过多，该链接已锁定，请联系我们重新发送"
            else:
                row.state, row.verified_at = VERIFIED, self.now
                self._judge(session, [row])
        if refused:
            raise VerifyError(refused)
        return row

    # -- the daily run -----------------------------------------------------------------------------------------
    def sweep(self) -> VerifyReport:
        """SMS still pending, emails refused (bounced), deadlines passed (contact.unverified findings, then cases)."""
        from scanner.cases import CaseBook

        report = VerifyReport()
        if self.sms is not None and self.config.contacts.secret:
            self.deliver_sms(report)
        with self.store.transaction() as session:
            rows = list(session.scalars(select(ContactVerification).where(ContactVerification.state.in_(OPEN_STATES))))
            outbox = {m.id: m.state for m in session.scalars(select(OutboxMessage).where(
                OutboxMessage.id.in_([r.email_outbox_id for r in rows if r.email_outbox_id])))}
            for row in rows:
                mail = outbox.get(row.email_outbox_id or -1)
                if row.email_state == "queued" and mail in ("sent", "failed"):
                    row.email_state = "sent" if mail == "sent" else "bounced"
                email_failed = row.email_state in ("", "bounced")
                sms_failed = row.sms_state in ("", "rejected")
                if row.state == SENT and email_failed and sms_failed:
                    row.state = BOUNCED
                    report.bounced += 1
            expired = [r for r in rows if as_utc(r.deadline) < self.now]
            for row in expired:
                row.state = EXPIRED
            report.expired = len(expired)
            self._judge(session, expired)
        if expired:
            report.cases = CaseBook(self.config, self.store, now=self.now).reconcile(None, actor="contact verification").line()
        return report

    def _judge(self, session: Session, rows: list[ContactVerification]) -> None:
        verdicts = []
        for row in rows:
            view = ContactState(row.role, row.name, row.mobile, row.email, row.state, local_time(row.deadline),
                                row.email_state, row.sms_state, row.sms_detail, row.website_number)
            outcome = evaluate_workflow(CODE, view)
            verdicts.append(findings_store.Verdicts(row.subject_number, row.website_number, [outcome]))
            row.judged = True
        findings_store.apply(session, None, self.now, verdicts)


def _latest(session: Session, subjects: set[str]) -> dict[tuple, ContactVerification]:
    out: dict[tuple, ContactVerification] = {}
    numbers = list(subjects)
    for start in range(0, len(numbers), 500):
        for row in session.scalars(select(ContactVerification).where(
                ContactVerification.subject_number.in_(numbers[start : start + 500])).order_by(ContactVerification.id)):
            out[(row.subject_number, row.website_number, row.role)] = row
    return out


def verification_dict(row: ContactVerification) -> dict:
    return {"id": row.id, "subject_number": row.subject_number, "website_number": row.website_number,
            "role": row.role, "name": row.name, "mobile": row.mobile, "email": row.email, "state": row.state,
            "sent_at": shanghai_iso(row.sent_at), "deadline": shanghai_iso(row.deadline),
            "verified_at": shanghai_iso(row.verified_at), "email_state": row.email_state, "sms_state": row.sms_state,
            "sms_detail": row.sms_detail, "attempts": row.attempts}
