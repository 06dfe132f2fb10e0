"""`beian notices send|list|release|retry`."""

from __future__ import annotations

import sys

from sqlalchemy import func, select

from core.config import Config
from scanner.cases import CaseBook, CaseError, release
from scanner.commands.common import CommandError, open_store
from scanner.notices.compose import local_time
from scanner.notices.deliver import DeliveryError, Sender
from scanner.reports.exports import write_table
from scanner.store.models import OutboxMessage

EXIT_STOPPED = 3
OUTBOX_STATES = ("pending", "sending", "retry", "sent", "failed")


def register(sub) -> None:
    p = sub.add_parser("notices", help="customer notices: deliver the outbox, list, release held scans")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    send = actions.add_parser(
        "send",
        help="deliver due messages (SMTP, or .eml files when notices.smtp_url is empty)",
        description="First runs the daily case sweep (deadlines, reminders, notices of open cases), then delivers "
        "every due message (at least once, always with the same Message-ID). Exit 0 when the outbox was worked "
        "through; 3 when the mail server could not be reached (messages stay queued for the next run).",
    )
    send.add_argument("--limit", type=int, help="deliver at most this many messages")
    send.add_argument("--no-sweep", action="store_true", help="only deliver what is already queued")
    send.set_defaults(func=cmd_send)
    listing = actions.add_parser("list", help="messages in the outbox")
    listing.add_argument("--state", action="append", default=[], choices=OUTBOX_STATES)
    listing.add_argument("--limit", type=int, default=100)
    listing.set_defaults(func=cmd_list)
    rel = actions.add_parser("release", help="send the notices a crawl-health gate held back for a scan")
    rel.add_argument("--scan", type=int, required=True, metavar="ID")
    rel.set_defaults(func=cmd_release)
    retry = actions.add_parser("retry", help="queue a failed message again")
    retry.add_argument("id", type=int)
    retry.set_defaults(func=cmd_retry)


def cmd_send(args, config: Config) -> int:
    store = open_store(config)
    if not args.no_sweep:
        print(CaseBook(config, store).reconcile(None).line())
    try:
        report = Sender(config, store).run(limit=args.limit)
    except DeliveryError as exc:
        raise CommandError(str(exc)) from None
    for error in report.errors[:20]:
        print(f"warning: {error}", file=sys.stderr)
    print(f"notices: {report.line()}")
    store.dispose()
    return EXIT_STOPPED if report.stopped else 0


def cmd_list(args, config: Config) -> int:
    store = open_store(config)
    with store.session() as session:
        statement = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(args.limit)
        if args.state:
            statement = statement.where(OutboxMessage.state.in_(args.state))
        rows = list(session.scalars(statement))
        totals = dict(session.execute(select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)).all())
    items = [{"id": r.id, "kind": r.kind, "state": r.state, "attempts": r.attempts, "recipient": r.recipient,
              "created": local_time(r.created_at), "sent": local_time(r.sent_at), "subject": r.subject}
             for r in reversed(rows)]
    write_table(items, sys.stdout, ["id", "kind", "state", "attempts", "recipient", "created", "sent", "subject"])
    print(", ".join(f"{n} {state}" for state, n in sorted(totals.items())) or "outbox is empty")
    return 0


def cmd_release(args, config: Config) -> int:
    store = open_store(config)
    try:
        report = release(config, store, args.scan)
    except CaseError as exc:
        raise CommandError(str(exc)) from None
    print(report.line())
    return 0


def cmd_retry(args, config: Config) -> int:
    from core import clock

    store = open_store(config)
    with store.transaction() as session:
        row = session.get(OutboxMessage, args.id)
        if row is None:
            raise CommandError(f"no message {args.id}")
        if row.state != "failed":
            raise CommandError(f"message {args.id} is {row.state}; only failed messages are queued again")
        row.state, row.attempts, row.next_attempt_at = "pending", 0, clock.now()
    print(f"message {args.id} queued again")
    return 0
