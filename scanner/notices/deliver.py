"""Deliver the outbox: each message at least once, always with the same Message-ID, over SMTP or as .eml files.

Every message is rendered and stored before delivery; a run claims one message at a time
(`pending`/`retry` -> `sending`, committed), transmits it, and marks it `sent`. A kill can come between any
two steps, so a delivery journal (`.delivery-journal` in the outbox folder, one line per event, each a single
write(2) that survives a kill -9) records the two instants the database cannot:

- `<id> <attempt> doubt` the moment the final "." of DATA is written: the server has the whole message
  but has not answered (content filters take from milliseconds to seconds, and may still refuse it);
- `<id> <attempt> sent` the moment the server answers 250 (or the .eml file is linked into place).

The next run reconciles what an interrupted run left in `sending`: `sent` in the journal -> marked sent;
anything else (in doubt, or never completed) -> sent again, with the same bytes and Message-ID. A message
is never marked sent that the server did not accept. The price is a possible duplicate: a kill after the
"." and before the `sent` line (or a connection lost before the reply) sends the message a second time,
and a receiving MTA or mail store can drop it by its Message-ID. Without the server's side of a
two-phase commit, which SMTP does not have, at-least-once with a stable id is the strongest guarantee.

An SMTP server that cannot be reached stops the run and leaves every message queued (no attempt is
charged). A 4xx/5xx reply to a message, or no reply at all after its final ".", is retried with exponential
backoff up to `notices.max_attempts`, then the message is marked failed and an operator alert raised;
nothing is dropped silently.

`BEIAN_TEST_KILL_AT=point[:n]` (tests only, read only when set) makes the sender SIGKILL itself at a named
point of its n-th message: before_mail, after_data, after_dot, after_250, after_journal; and
`review_customer_queued`, after the annual review has committed the n-th customer's mail.
"""

from __future__ import annotations

import fcntl
import os
import re
import signal
import smtplib
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

from sqlalchemy import select, update

from core import clock
from core.config import Config
from scanner.store.db import Store, as_utc
from scanner.store.models import OutboxMessage

JOURNAL = ".delivery-journal"
LOCK = ".send.lock"
MAX_BACKOFF_S = 6 * 3600
CLAIM_LEASE = timedelta(minutes=15)
DUE_STATES = ("pending", "retry")


KILL_POINTS = ("before_mail", "after_data", "after_dot", "after_250", "after_journal", "review_customer_queued")


def _kill_at(point: str, _seen: dict = {}) -> None:  # noqa: B006 - per-process counter
    """Test hook: BEIAN_TEST_KILL_AT=point[:n] makes the sender SIGKILL itself at that point of its n-th message."""
    wanted = os.environ.get("BEIAN_TEST_KILL_AT")
    if not wanted:
        return
    name, _, nth = wanted.partition(":")
    if name != point:
        return
    _seen[point] = _seen.get(point, 0) + 1
    if _seen[point] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)


class DeliveryError(Exception):
    """The run cannot start (another run holds the lock, the outbox folder is unusable); one line."""


class Unreachable(Exception):
    """The server cannot be reached or dropped us before the message was complete: nothing was delivered."""


class Refused(Exception):
    """The server answered this message with a 4xx/5xx reply: it was not delivered."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"{code} {text}")
        self.code = code


class Unconfirmed(Exception):
    """The whole message was handed over but no reply came: in doubt, so it is sent again (same Message-ID)."""


@dataclass
class SendReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    remaining: int = 0
    reconciled: int = 0
    resent_in_doubt: int = 0
    stopped: str = ""
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        text = f"{self.sent} sent, {self.retried} to retry later, {self.failed} failed, {self.remaining} still queued"
        if self.reconciled:
            text += f"; {self.reconciled} confirmed from the delivery journal after an interrupted run"
        if self.resent_in_doubt:
            text += (f"; {self.resent_in_doubt} in doubt after an interrupted run (the server may have it) "
                     "re-sent with the same Message-ID")
        if self.stopped:
            text += f"; stopped: {self.stopped}"
        return text


class Journal:
    def __init__(self, folder: Path) -> None:
        self.path = folder / JOURNAL
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)

    def in_doubt(self, outbox_id: int, attempt: int) -> None:
        os.write(self.fd, f"{outbox_id} {attempt} doubt\n".encode())

    def accepted(self, outbox_id: int, attempt: int) -> None:
        os.write(self.fd, f"{outbox_id} {attempt} sent\n".encode())

    def entries(self) -> dict[tuple[int, int], str]:
        """(id, attempt) -> "sent" or "doubt". A line of the old two-field form meant only "handed over"."""
        found: dict[tuple[int, int], str] = {}
        for line in self.path.read_text(encoding="ascii", errors="replace").splitlines():
            parts = line.split()
            if len(parts) in (2, 3) and parts[0].isdigit() and parts[1].isdigit():
                key = (int(parts[0]), int(parts[1]))
                if found.get(key) != "sent":
                    found[key] = "sent" if parts[2:] == ["sent"] else "doubt"
        return found

    def clear(self) -> None:
        os.ftruncate(self.fd, 0)

    def close(self) -> None:
        os.close(self.fd)


class SmtpTransport:
    """smtp://, smtps:// or smtp+starttls://[user:password@]host[:port], one connection per run."""

    def __init__(self, url: str, timeout: float) -> None:
        self.url = urlsplit(url)
        self.timeout = timeout
        self.client: smtplib.SMTP | None = None

    def describe(self) -> str:
        return f"{self.url.scheme}://{self.url.hostname}:{self.url.port or self._default_port()}"

    def _default_port(self) -> int:
        return {"smtps": 465, "smtp+starttls": 587}.get(self.url.scheme, 25)

    def _connect(self) -> smtplib.SMTP:
        host, port = self.url.hostname or "", self.url.port or self._default_port()
        try:
            if self.url.scheme == "smtps":
                client: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=self.timeout,
                                                        context=ssl.create_default_context())
            else:
                client = smtplib.SMTP(host, port, timeout=self.timeout)
            client.ehlo_or_helo_if_needed()
            if self.url.scheme == "smtp+starttls":
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
            if self.url.username:
                client.login(unquote(self.url.username), unquote(self.url.password or ""))
        except smtplib.SMTPAuthenticationError as exc:
            raise Unreachable(f"{self.describe()}: login refused ({exc.smtp_code})") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise Unreachable(f"{self.describe()}: {exc or type(exc).__name__}") from None
        return client

    def send(self, raw: bytes, sender: str, recipient: str, on_handed: Callable[[], None]) -> None:
        if self.client is None:
            self.client = self._connect()
        client = self.client
        handed = False
        try:
            _kill_at("before_mail")
            for command, ok in ((lambda: client.mail(sender), (250,)), (lambda: client.rcpt(recipient), (250, 251)),
                                (lambda: client.docmd("DATA"), (354,))):
                code, text = command()
                if code not in ok:
                    if code == 421:  # the server is closing the session: nothing was delivered
                        raise smtplib.SMTPServerDisconnected(f"{code} {text.decode(errors='replace')}")
                    _reset(client)
                    raise Refused(code, text.decode(errors="replace"))
            _kill_at("after_data")
            payload = re.sub(rb"(?m)^\.", b"..", raw)
            if not payload.endswith(b"\r\n"):
                payload += b"\r\n"
            client.send(payload + b".\r\n")
            handed = True
            on_handed()
            _kill_at("after_dot")
            code, text = client.getreply()
            if code == -1:  # smtplib's "no reply line" (the server closed without answering)
                raise smtplib.SMTPServerDisconnected(text.decode(errors="replace"))
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            self.close()
            if handed:
                raise Unconfirmed(f"no reply after the end of DATA: {exc}") from None
            raise Unreachable(f"{self.describe()}: {exc or type(exc).__name__}") from None
        if code != 250:
            raise Refused(code, text.decode(errors="replace"))

    def close(self) -> None:
        if self.client is not None:
            try:
                self.client.quit()
            except (OSError, smtplib.SMTPException):
                self.client.close()
            self.client = None


def _reset(client: smtplib.SMTP) -> None:
    try:
        client.rset()
    except (OSError, smtplib.SMTPException):
        pass


class EmlTransport:
    """No SMTP configured: each message becomes <outbox>/<Message-ID>.eml, linked into place atomically."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def describe(self) -> str:
        return f"{self.folder}/*.eml"

    def send(self, raw: bytes, sender: str, recipient: str, _on_handed: Callable[[], None], message_id: str = "") -> None:
        name = re.sub(r"[^A-Za-z0-9._@-]", "_", message_id.strip("<>")) + ".eml"
        final = self.folder / name
        temporary = self.folder / f".{name}.{os.getpid()}.tmp"
        temporary.write_bytes(raw)
        try:
            os.link(temporary, final)
        except FileExistsError:
            pass  # delivered by an earlier, interrupted run
        finally:
            temporary.unlink(missing_ok=True)

    def close(self) -> None:
        pass


class Sender:
    def __init__(self, config: Config, store: Store, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = config
        self.store = store
        self.sleep = sleep
        self.folder = Path(config.notices.outbox_dir)
        self.me = f"{socket.gethostname()}:{os.getpid()}"

    def run(self, limit: int | None = None) -> SendReport:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            lock = open(self.folder / LOCK, "a+")  # noqa: SIM115 - held for the whole run
        except OSError as exc:
            raise DeliveryError(f"notices.outbox_dir {self.folder}: {exc.strerror}") from None
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise DeliveryError(f"another `beian notices send` is running (lock {self.folder / LOCK})") from None
        journal = Journal(self.folder)
        try:
            report = SendReport()
            self._recover(journal, report)
            self._deliver(journal, report, limit)
            with self.store.session() as session:
                report.remaining = len(session.scalars(select(OutboxMessage.id).where(
                    OutboxMessage.state.in_(DUE_STATES))).all())
            return report
        finally:
            journal.close()
            fcntl.flock(lock, fcntl.LOCK_UN)
            lock.close()

    def _recover(self, journal: Journal, report: SendReport) -> None:
        """Settle what an interrupted run left in `sending`, then start a fresh journal."""
        handed = journal.entries()
        now = clock.now()
        host = self.me.split(":")[0]
        with self.store.transaction() as session:
            for row in session.scalars(select(OutboxMessage).where(OutboxMessage.state == "sending")):
                ours = row.claimed_by.split(":")[0] == host
                if not ours and as_utc(row.next_attempt_at) > now - CLAIM_LEASE:
                    continue  # another machine's run may still be sending it
                seen = handed.get((row.id, row.attempts))
                if seen == "sent":
                    row.state, row.sent_at = "sent", now
                    row.last_error = "confirmed from the delivery journal after an interrupted run"
                    report.reconciled += 1
                    continue
                row.state, row.attempts = "pending", max(0, row.attempts - 1)
                if seen == "doubt":
                    row.last_error = ("in doubt after an interrupted run (the server had the whole message, "
                                      "its reply was never read): sent again with the same Message-ID")
                    report.resent_in_doubt += 1
        journal.clear()

    def _transport(self):
        if self.config.notices.smtp_url:
            return SmtpTransport(self.config.notices.smtp_url, self.config.notices.timeout_s)
        return EmlTransport(self.folder)

    def _deliver(self, journal: Journal, report: SendReport, limit: int | None) -> None:
        transport = self._transport()
        interval = 60.0 / self.config.notices.rate_per_minute
        done = 0
        try:
            while limit is None or done < limit:
                started = time.monotonic()
                row = self._claim()
                if row is None:
                    return
                done += 1
                try:
                    kwargs = {"message_id": row.message_id} if isinstance(transport, EmlTransport) else {}
                    transport.send(row.raw, self.config.notices.sender, row.recipient,
                                   lambda r=row: journal.in_doubt(r.id, r.attempts), **kwargs)
                except Unreachable as exc:
                    self._release(row.id)
                    report.stopped = f"cannot reach the mail server ({exc}); messages stay queued"
                    return
                except Refused as exc:
                    self._refused(row, str(exc), report)
                except Unconfirmed as exc:
                    self._refused(row, f"in doubt, will be sent again with the same Message-ID: {exc}", report)
                else:
                    _kill_at("after_250")
                    journal.accepted(row.id, row.attempts)
                    _kill_at("after_journal")
                    self._mark_sent(row.id, "")
                    report.sent += 1
                pause = interval - (time.monotonic() - started)
                if pause > 0:
                    self.sleep(pause)
        finally:
            transport.close()

    def _claim(self) -> OutboxMessage | None:
        """The next due message, now in `sending` with its attempt counted (committed before any byte is sent)."""
        while True:
            now = clock.now()
            with self.store.transaction() as session:
                row = session.scalars(
                    select(OutboxMessage).where(OutboxMessage.state.in_(DUE_STATES), OutboxMessage.next_attempt_at <= now)
                    .order_by(OutboxMessage.id).limit(1)
                ).first()
                if row is None:
                    return None
                claimed = session.execute(
                    update(OutboxMessage).where(OutboxMessage.id == row.id, OutboxMessage.state.in_(DUE_STATES))
                    .values(state="sending", attempts=OutboxMessage.attempts + 1, claimed_by=self.me, next_attempt_at=now)
                ).rowcount
                if claimed == 1:
                    session.refresh(row)
                    return row

    def _release(self, outbox_id: int) -> None:
        with self.store.transaction() as session:
            row = session.get(OutboxMessage, outbox_id)
            row.state, row.attempts = "pending", max(0, row.attempts - 1)

    def _mark_sent(self, outbox_id: int, note: str) -> None:
        with self.store.transaction() as session:
            session.execute(update(OutboxMessage).where(OutboxMessage.id == outbox_id)
                            .values(state="sent", sent_at=clock.now(), last_error=note))

    def _refused(self, row: OutboxMessage, error: str, report: SendReport) -> None:
        from scanner.notices.outbox import raise_alert

        now = clock.now()
        with self.store.transaction() as session:
            current = session.get(OutboxMessage, row.id)
            current.last_error = error[:500]
            if current.attempts >= self.config.notices.max_attempts:
                current.state = "failed"
                report.failed += 1
                raise_alert(session, self.config, now, "mail_failed",
                            f"通知邮件 {current.id} 发送 {current.attempts} 次均被拒绝：{current.recipient}",
                            lines=[error, "处理后重新排队：beian notices retry " + str(current.id)],
                            outbox_id=current.id)
            else:
                delay = min(MAX_BACKOFF_S, self.config.notices.retry_base_s * 2 ** (current.attempts - 1))
                current.state, current.next_attempt_at = "retry", now + timedelta(seconds=delay)
                report.retried += 1
            report.errors.append(f"message {current.id} to {current.recipient}: {error}")


def next_due(store: Store) -> datetime | None:
    with store.session() as session:
        return session.scalar(select(OutboxMessage.next_attempt_at).where(OutboxMessage.state.in_(DUE_STATES))
                              .order_by(OutboxMessage.next_attempt_at).limit(1))
