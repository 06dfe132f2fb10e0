"""Personal links to the customer self-service page (issue 23), one per notice or reminder and recipient.

`<public_url>/customer/<token>` opens a page of that recipient's cases on `beian serve`, with no operator
token: the token is signed with `customer.secret` (else `contacts.secret`; scanner/signed_links.py), names its
expiry (`customer.link_days` after the mail) and is bound to its row's random nonce and to the recipient. With
no secret configured, notices simply carry no link.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from core.config import Config
from scanner.notices.compose import local_time
from scanner.signed_links import MIN_SECRET, parse, same, sign
from scanner.store.db import Store, as_utc
from scanner.store.models import CustomerLink

PURPOSE = "customer"


class LinkError(Exception):
    """A link that does not open the page; str() is the Chinese sentence the customer sees. `status`: the HTTP code."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def secret_of(config: Config) -> str:
    secret = config.customer.secret or config.contacts.secret
    return secret if len(secret) >= MIN_SECRET else ""


def base_url(config: Config) -> str:
    return (config.customer.public_url or config.contacts.public_url or f"http://{config.serve.listen}").rstrip("/")


def token_of(secret: str, link: CustomerLink) -> str:
    return sign(secret, PURPOSE, link.id, int(as_utc(link.expires_at).timestamp()), link.nonce, link.recipient)


def issue(session: Session, config: Config, recipient: str, now: datetime) -> str:
    """A new link for `recipient`, stored in `session` (the transaction that queues the mail): its URL, or ""
    when no secret is configured."""
    secret = secret_of(config)
    if not secret or not recipient:
        return ""
    expires = (now + timedelta(days=config.customer.link_days)).replace(microsecond=0)
    link = CustomerLink(recipient=recipient, nonce=secrets.token_hex(16), created_at=now, expires_at=expires)
    session.add(link)
    session.flush()
    return f"{base_url(config)}/customer/{token_of(secret, link)}"


def check(config: Config, store: Store, token: str, now: datetime) -> CustomerLink:
    """The link of a valid, unexpired token, else LinkError (404 unknown or tampered, 410 expired)."""
    secret = secret_of(config)
    parsed = parse(token)
    if not secret or parsed is None:
        raise LinkError("链接无效：请使用通知邮件中的完整链接", 404)
    link_id, expiry, signature = parsed
    with store.session() as session:
        link = session.get(CustomerLink, link_id)
    if link is None or not same(token_of(secret, link), f"{link_id}.{expiry}.{signature}"):
        raise LinkError("链接无效：请使用通知邮件中的完整链接", 404)
    if now >= as_utc(link.expires_at):
        raise LinkError(f"链接已于 {local_time(as_utc(link.expires_at))} 过期，请使用最新通知或提醒邮件中的链接，"
                        "或直接回复通知邮件联系我们", 410)
    return link
