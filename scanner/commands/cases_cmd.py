"""`beian cases …` (list, show, extend, waive, sweep) and `beian alerts`."""

from __future__ import annotations

import sys

from sqlalchemy import select

from core.config import Config
from scanner.cases import ACTIVE, ESCALATED, STATES, CaseBook, CaseError
from scanner.commands.common import CommandError, open_store
from scanner.notices.compose import local_time
from scanner.notices.items import build_items
from scanner.queries import CaseFilter
from scanner.reports.exports import CASE_COLUMNS, case_row, write_rows
from scanner.store.models import Alert, Case, CaseEvent, OutboxMessage

TABLE_COLUMNS = ["id", "state", "check", "website_number", "subject_number", "deadline", "recipient"]
WORKLIST_COLUMNS = ["id", "website_number", "subject_number", "check", "title", "recipient", "notified_at",
                    "deadline", "escalated_at"]


def register(sub) -> None:
    p = sub.add_parser(
        "cases",
        help="rectification cases: list, show, extend, waive, sweep",
        description="With no action, list cases (active ones unless --state or --all). `--escalated` is the "
        "取消接入 worklist: cases past their deadline and still failing, and critical findings.",
    )
    p.add_argument("--state", action="append", default=[], choices=STATES, help="only cases in this state")
    p.add_argument("--escalated", action="store_true", help="the 取消接入 worklist (state escalated)")
    p.add_argument("--all", action="store_true", help="include resolved and waived cases")
    p.add_argument("--check", action="append", default=[], metavar="CODE", help="only this check code")
    p.add_argument("--pending", action="store_true",
                   help="findings waiting for the grace after a registry change (cases.sync_grace_days) instead")
    p.add_argument("--format", choices=("table", "csv", "jsonl"), default="table")
    p.set_defaults(func=cmd_list)
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    show = actions.add_parser("show", help="one case with its findings and audit trail")
    show.add_argument("id", type=int)
    show.set_defaults(func=cmd_show)
    extend = actions.add_parser("extend", help="move a case's deadline by N working days")
    extend.add_argument("id", type=int)
    extend.add_argument("--days", type=int, required=True, help="working days to add")
    extend.add_argument("--reason", required=True, help="why (kept in the audit trail)")
    extend.add_argument("--by", default="operator", help="who does this (audit trail)")
    extend.set_defaults(func=cmd_extend)
    waive = actions.add_parser(
        "waive", help="close a case as a false positive; the code stays quiet for that website until its page or "
        "record changes")
    waive.add_argument("id", type=int)
    waive.add_argument("--reason", required=True, help="why (kept in the audit trail)")
    waive.add_argument("--by", default="operator", help="who does this (audit trail)")
    waive.set_defaults(func=cmd_waive)
    sweep = actions.add_parser(
        "sweep", help="daily bookkeeping: open confirmed cases, mark deadlines passed, queue reminders and notices, "
                      "delete screenshots past screenshots.retention_days")
    sweep.set_defaults(func=cmd_sweep)

    p = sub.add_parser("alerts", help="operator alerts (held scans, escalations, undeliverable mail)")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=cmd_alerts)


PENDING_COLUMNS = ["check", "website_number", "subject_number", "changed", "changed_at", "until"]


def cmd_list(args, config: Config) -> int:
    store = open_store(config)
    pending = CaseBook(config, store).pending()
    if args.check:
        pending = [row for row in pending if row["check"] in args.check]
    if args.pending:
        store.dispose()
        if write_rows(pending, args.format, sys.stdout, PENDING_COLUMNS):
            print(f"{len(pending)} pending: registry changed in the last {config.cases.sync_grace_days} working days; "
                  "each opens a case at the first sweep or scan after `until`")
        return 0
    states = [ESCALATED] if args.escalated else (args.state or ([] if args.all else list(ACTIVE)))
    with store.session() as session:
        statement = CaseFilter(states=states, checks=args.check or ()).select()
        items = [case_row(case) for case in session.scalars(statement)]
    store.dispose()
    if write_rows(items, args.format, sys.stdout, WORKLIST_COLUMNS if args.escalated else CASE_COLUMNS,
                  WORKLIST_COLUMNS if args.escalated else TABLE_COLUMNS):
        print(f"{len(items)} cases" + (f"; {len(pending)} pending after a registry change (--pending)" if pending else ""))
    return 0


def cmd_show(args, config: Config) -> int:
    store = open_store(config)
    with store.session() as session:
        case = session.get(Case, args.id)
        if case is None:
            raise CommandError(f"no case {args.id}")
        row = case_row(case)
        (item,) = build_items(session, [case], include_closed=case.state not in ACTIVE)
        events = list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)))
        outbox_ids = {event.detail.get("outbox_id") for event in events if (event.detail or {}).get("outbox_id")}
        notices = list(session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(outbox_ids))
                                       .order_by(OutboxMessage.id)))
    store.dispose()
    print(f"case {case.id}  {case.state}  {case.check}  {row['title']}")
    for label, key in (("website", "website_number"), ("subject", "subject_number"), ("recipient", "recipient"),
                       ("opened", "opened_at"), ("notified", "notified_at"), ("deadline", "deadline"),
                       ("escalated", "escalated_at"), ("closed", "closed_at")):
        if row[key]:
            print(f"  {label:<10} {row[key]}")
    print(f"  {'field':<10} {item['field']}")
    if item["detail"]:
        print(f"  {'seen':<10} {item['detail']}")
    print("\naudit trail:")
    for event in events:
        change = event.to_state if event.from_state in (None, event.to_state) else f"{event.from_state} -> {event.to_state}"
        print(f"  {local_time(event.at)}  {change:<22} {event.actor:<16} {event.reason}")
    if notices:
        print("\nmessages:")
        for notice in notices:
            print(f"  #{notice.id} {notice.kind:<9} {notice.state:<8} {notice.recipient}  {notice.subject}")
    return 0


def cmd_extend(args, config: Config) -> int:
    store = open_store(config)
    try:
        case = CaseBook(config, store).extend(args.id, args.days, args.reason, actor=args.by)
    except CaseError as exc:
        raise CommandError(str(exc)) from None
    print(f"case {case.id} extended by {args.days} working days; new deadline {local_time(case.deadline)}")
    return 0


def cmd_waive(args, config: Config) -> int:
    store = open_store(config)
    try:
        case = CaseBook(config, store).waive(args.id, args.reason, actor=args.by)
    except CaseError as exc:
        raise CommandError(str(exc)) from None
    print(f"case {case.id} waived; {case.check} stays quiet for this record until its page or record changes")
    return 0


def cmd_sweep(args, config: Config) -> int:
    store = open_store(config)
    report = CaseBook(config, store).reconcile(None)
    print(report.line())
    from scanner.store import screenshots

    print(f"{screenshots.sweep(config, store)} expired screenshots deleted")
    return 0


def cmd_alerts(args, config: Config) -> int:
    store = open_store(config)
    with store.session() as session:
        alerts = list(session.scalars(select(Alert).order_by(Alert.id.desc()).limit(args.limit)))
    for alert in reversed(alerts):
        scan = f" scan {alert.scan_id}" if alert.scan_id else ""
        print(f"{local_time(alert.created_at)}  {alert.kind:<12}{scan}  {alert.message}")
    print(f"{len(alerts)} alerts")
    return 0
