"""Deliver the outbox: each message exactly once, over SMTP or as .eml files.

Every message is rendered and stored before delivery; a run claims one message at a time
(`pending`/`retry` -> `sending`, committed), transmits it, and marks it `sent`. Between the two database
writes lies the one moment a crash could make us lose track: after the server has the whole message
and before `sent` is committed. We close it with a delivery journal: the instant the final "." of DATA
is written (or the .eml file is linked into place), one line is appended to `.delivery-journal` in the
outbox folder (a single write(2), which survives a kill -9). The next run reconciles: a message left in
`sending` whose attempt is in the journal was handed over and is marked sent; one that is not was never
completed by the server (the connection dropped mid-DATA), so it is sent again with the same bytes and
Message-ID. What remains is the few microseconds between that write(2) on the socket and the one on the
journal; a crash exactly there sends the message twice, with an identical Message-ID that mail stores
collapse. We prefer that to the opposite order, where the same crash would lose the message.

An SMTP server that cannot be reached stops the run and leaves every message queued (no attempt is
charged). A 4xx/5xx reply to a message is retried with exponential backoff up to `notices.max_attempts`,
then the message is marked failed and an operator alert raised; nothing is dropped silently.
"""

from __future__ import annotations

import fcntl
import os
import re
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
    """The whole message was handed over but no reply came: counted as delivered (the server has it)."""


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
        if self.stopped:
            text += f"; stopped: {self.stopped}"
        return text


class Journal:
    def __init__(self, folder: Path) -> None:
        self.path = folder / JOURNAL
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)

    def handed(self, outbox_id: int, attempt: int) -> None:
        os.write(self.fd, f"{outbox_id} {attempt}\n".encode())

    def entries(self) -> set[tuple[int, int]]:
        found = set()
        for line in self.path.read_text(encoding="ascii", errors="replace").splitlines():
            parts = line.split()
            if len(parts) == 2 and all(p.isdigit() for p in parts):
                found.add((int(parts[0]), int(parts[1])))
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
                                                        context=ssl.create_default_context())  # fmt: skip
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
            for command, ok in ((lambda: client.mail(sender), (250,)), (lambda: client.rcpt(recipient), (250, 251)),
                                (lambda: client.docmd("DATA"), (354,))):  # fmt: skip
                code, text = command()
                if code not in ok:
                    if code == 421:  # the server is closing the session: nothing was delivered
                        raise smtplib.SMTPServerDisconnected(f"{code} {text.decode(errors='replace')}")
                    _reset(client)
                    raise Refused(code, text.decode(errors="replace"))
            payload = re.sub(rb"(?m)^\.", b"..", raw)
            if not payload.endswith(b"\r\n"):
                payload += b"\r\n"
            client.send(payload + b".\r\n")
            handed = True
            on_handed()
            code, text = client.getreply()
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

    def send(self, raw: bytes, sender: str, recipient: str, on_handed: Callable[[], None], message_id: str = "") -> None:
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
        on_handed()

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
                    OutboxMessage.state.in_(DUE_STATES))).all())  # fmt: skip
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
                if (row.id, row.attempts) in handed:
                    row.state, row.sent_at = "sent", now
                    row.last_error = "confirmed from the delivery journal after an interrupted run"
                    report.reconciled += 1
                else:
                    row.state, row.attempts = "pending", max(0, row.attempts - 1)
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
                                   lambda r=row: journal.handed(r.id, r.attempts), **kwargs)  # fmt: skip
                except Unreachable as exc:
                    self._release(row.id)
                    report.stopped = f"cannot reach the mail server ({exc}); messages stay queued"
                    return
                except Refused as exc:
                    self._refused(row, str(exc), report)
                except Unconfirmed as exc:
                    self._mark_sent(row.id, str(exc))
                    report.sent += 1
                else:
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
                ).first()  # fmt: skip
                if row is None:
                    return None
                claimed = session.execute(
                    update(OutboxMessage).where(OutboxMessage.id == row.id, OutboxMessage.state.in_(DUE_STATES))
                    .values(state="sending", attempts=OutboxMessage.attempts + 1, claimed_by=self.me, next_attempt_at=now)
                ).rowcount  # fmt: skip
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
                            .values(state="sent", sent_at=clock.now(), last_error=note))  # fmt: skip

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
                            outbox_id=current.id)  # fmt: skip
            else:
                delay = min(MAX_BACKOFF_S, self.config.notices.retry_base_s * 2 ** (current.attempts - 1))
                current.state, current.next_attempt_at = "retry", now + timedelta(seconds=delay)
                report.retried += 1
            report.errors.append(f"message {current.id} to {current.recipient}: {error}")


def next_due(store: Store) -> datetime | None:
    with store.session() as session:
        return session.scalar(select(OutboxMessage.next_attempt_at).where(OutboxMessage.state.in_(DUE_STATES))
                              .order_by(OutboxMessage.next_attempt_at).limit(1))  # fmt: skip
