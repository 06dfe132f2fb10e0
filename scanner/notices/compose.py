"""Render one email (Chinese HTML and plain text, UTF-8 MIME) from the Jinja2 templates in scanner/reports/templates.

A message is rendered once, when it is queued; the stored bytes (and their Message-ID) are what every
delivery attempt sends, so a retry can never produce a different mail.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from core.clock import SHANGHAI
from core.config import Config
from scanner.reports.jinja import environment

KINDS = ("notice", "reminder", "resolved", "alert", "review", "review_reminder", "verify")


@dataclass(frozen=True)
class Rendered:
    message_id: str
    subject: str
    raw: bytes


def local_time(moment: datetime | None) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if moment else ""


def render(config: Config, kind: str, recipient: str, context: dict, *, now: datetime) -> Rendered:
    if kind not in KINDS:
        raise ValueError(f"unknown notice kind {kind!r}")
    env = environment()
    provider = config.provider.name
    values = {"provider": provider, "recipient": recipient, "now": local_time(now),
              "evidence_base": config.contacts.public_url or f"http://{config.serve.listen}", **context}
    subject = env.get_template(f"{kind}.subject.j2").render(values).strip()
    text = env.get_template(f"{kind}.txt.j2").render(values)
    html = env.get_template(f"{kind}.html.j2").render({**values, "subject": subject})
    domain = config.notices.sender.rpartition("@")[2]
    message_id = f"<beian.{kind}.{uuid.uuid4().hex}@{domain}>"
    message = EmailMessage(policy=SMTP)
    local, _, sender_domain = config.notices.sender.rpartition("@")
    message["From"] = Address(config.notices.sender_name or provider, local, sender_domain)
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = format_datetime(now.astimezone(SHANGHAI))
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    message["X-Beian-Kind"] = kind
    message.set_content(text, charset="utf-8")
    message.add_alternative(html, subtype="html", charset="utf-8")
    return Rendered(message_id, subject, message.as_bytes(policy=SMTP))
