"""`beian contacts …`: the contact self-verification (负责人联系方式核验, seed 002)."""

from __future__ import annotations

import sys

from sqlalchemy import select

from core.config import Config
from scanner.commands.common import CommandError, open_store
from scanner.reports.exports import write_rows
from scanner.store.models import ContactVerification
from scanner.workflows.contacts import STATES, ContactVerifier, VerifyError, verification_dict

COLUMNS = ["id", "state", "role", "name", "subject_number", "website_number", "mobile", "email", "email_state",
           "sms_state", "deadline", "verified_at"]


def register(sub) -> None:
    p = sub.add_parser(
        "contacts",
        help="contact self-verification (负责人联系方式核验): a link and a code by email, the code by SMS",
        description="Every 主体负责人 and 网站负责人 gets an email with a link to `beian serve`'s /verify page and a "
        "six-digit code, and the code by SMS (contacts.sms_webhook_url). Unverified by the deadline "
        "(contacts.working_days): a contact.unverified case. Needs contacts.secret.",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    verify = actions.add_parser("verify", help="send a verification to every contact without an open or verified one")
    verify.add_argument("--subject", action="append", default=[], metavar="NUM", help="only this subject's contacts")
    verify.add_argument("--again", action="store_true", help="also contacts that verified before")
    verify.add_argument("--by", default="operator")
    verify.set_defaults(func=cmd_verify)
    lst = actions.add_parser("list", help="verifications with their state (sent, verified, bounced, expired)")
    lst.add_argument("--state", action="append", default=[], choices=STATES)
    lst.add_argument("--format", choices=("table", "csv", "jsonl"), default="table")
    lst.set_defaults(func=cmd_list)
    sweep = actions.add_parser("sweep", help="daily: SMS still pending, bounced mails, deadlines passed "
                               "(contact.unverified cases); also part of `beian serve`'s sweep")
    sweep.set_defaults(func=cmd_sweep)


def cmd_verify(args, config: Config) -> int:
    store = open_store(config)
    try:
        report = ContactVerifier(config, store).send(args.subject, again=args.again, actor=args.by)
    except VerifyError as exc:
        raise CommandError(str(exc)) from None
    finally:
        store.dispose()
    print(report.line())
    for error in report.errors[:3]:
        print(f"warning: {error}; the next `beian contacts sweep` sends the rest", file=sys.stderr)
    print("deliver the mails with: beian notices send")
    return 0


def cmd_list(args, config: Config) -> int:
    store = open_store(config)
    with store.session() as session:
        statement = select(ContactVerification).order_by(ContactVerification.id)
        if args.state:
            statement = statement.where(ContactVerification.state.in_(args.state))
        rows = [verification_dict(r) for r in session.scalars(statement)]
    store.dispose()
    if write_rows(rows, args.format, sys.stdout, COLUMNS):
        print(f"{len(rows)} verifications")
    return 0


def cmd_sweep(args, config: Config) -> int:
    store = open_store(config)
    try:
        report = ContactVerifier(config, store).sweep()
    finally:
        store.dispose()
    print(report.line())
    return 0
