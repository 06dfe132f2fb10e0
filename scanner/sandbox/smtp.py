"""SMTP capture (aiosmtpd) for notices: every message kept in memory and, optionally, in a maildir."""

from __future__ import annotations

import email
import email.policy
import mailbox
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path


@dataclass
class CapturedMail:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)  # type: ignore[return-value]


class CaptureHandler:
    def __init__(self, maildir: str | Path | None = None) -> None:
        self.messages: list[CapturedMail] = []
        self.lock = threading.Lock()
        self.maildir = mailbox.Maildir(str(maildir), create=True) if maildir else None
        self.fail_next = 0  # tests simulate an SMTP outage with this
        self.drop_next = 0  # ... and a server that closes the connection instead of answering the message
        self.answered = 0  # end-of-DATA replies decided (accepted or refused), for tests that wait on the server
        self.reject_rcpt: set[str] = set()  # addresses refused with 550 (a mailbox that does not exist: a bounce)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:  # noqa: N802 - aiosmtpd hook
        if address.lower() in self.reject_rcpt:
            return "550 5.1.1 sandbox: no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd hook name
        if self.drop_next > 0:
            self.drop_next -= 1
            self.answered += 1
            server.transport.close()
            return "421 4.3.0 sandbox: connection dropped"
        if self.fail_next > 0:
            self.fail_next -= 1
            self.answered += 1
            return "451 4.3.0 sandbox: temporary failure"
        captured = CapturedMail(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content))
        with self.lock:
            self.messages.append(captured)
        if self.maildir is not None:
            self.maildir.add(captured.data)
        self.answered += 1
        return "250 OK"
