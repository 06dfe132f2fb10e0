"""`beian annual-review …`: rounds of the provincial annual review (湖北年审, seed 000)."""

from __future__ import annotations

import sys

from sqlalchemy import select

from core.config import Config
from scanner.commands.common import CommandError, open_store
from scanner.reports.exports import write_csv, write_jsonl, write_table
from scanner.store.models import ReviewItem, ReviewRound
from scanner.workflows.annual_review import ITEM_STATES, AnnualReview, ReviewError, item_dict, round_dict

ITEM_COLUMNS = ["website_number", "subject_number", "state", "status", "sms_text", "phone", "platform", "recipient",
                "notified_at", "done_at"]


def register(sub) -> None:
    p = sub.add_parser(
        "annual-review",
        help="annual review rounds (湖北年审): one SMS per website, reminders, the bureau's completion list",
        description="A round covers every website of one province filed through us. Each website gets its own SMS "
        "#接入商编号#网站备案号#备案状态# (provider.code; status from the registry history since the previous round: "
        "无变化, 已更新 or 已注销; websites in 备案中 wait until approved). One mail per customer lists every SMS, the "
        "phone to send it from, the platform number of that phone's carrier, the deadline and the consequence. "
        "Mails go through the outbox (`beian notices send` delivers them).",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    start = actions.add_parser("start", help="open a round and queue one mail per customer")
    start.add_argument("--province", required=True, help="ICP abbreviation of the province, e.g. 鄂")
    start.add_argument("--from", dest="starts_on", required=True, metavar="YYYY-MM-DD", help="first day of the round")
    start.add_argument("--to", dest="ends_on", required=True, metavar="YYYY-MM-DD",
                       help="last day the bureau accepts SMS (no extension)")
    start.add_argument("--remind", action="append", default=[], metavar="YYYY-MM-DD",
                       help="a reminder date for websites not done yet (repeatable; default: 30 and 7 days before the end)")
    start.add_argument("--by", default="operator", help="who opens it (kept with the round)")
    start.set_defaults(func=cmd_start)
    lst = actions.add_parser("list", help="rounds with their counts")
    lst.set_defaults(func=cmd_list)
    show = actions.add_parser("show", help="one round: its websites, SMS texts, phones and states")
    show.add_argument("id", type=int)
    show.add_argument("--state", action="append", default=[], choices=ITEM_STATES, help="only websites in this state")
    show.add_argument("--format", choices=("table", "csv", "jsonl"), default="table")
    show.set_defaults(func=cmd_show)
    done = actions.add_parser("done", help="mark websites done (also after the round ended: a later completion counts)")
    done.add_argument("id", type=int)
    done.add_argument("websites", nargs="+", metavar="WEBSITE_NUMBER")
    done.add_argument("--by", default="operator")
    done.set_defaults(func=cmd_done)
    imp = actions.add_parser("import", help="the bureau's list of completed website numbers (CSV or XLSX)")
    imp.add_argument("id", type=int)
    imp.add_argument("path", help="a .csv or .xlsx file; every website number in any cell counts as done")
    imp.add_argument("--by", default="operator")
    imp.set_defaults(func=cmd_import)
    sweep = actions.add_parser("sweep", help="daily: new and changed websites, reminders due, the end of a round "
                               "(also part of `beian serve`'s sweep)")
    sweep.set_defaults(func=cmd_sweep)
    close = actions.add_parser("close", help="end a round after its last day: review.not_done findings and cases for "
                               "the websites still open")
    close.add_argument("id", type=int)
    close.set_defaults(func=cmd_close)


def _review(config: Config):
    store = open_store(config)
    return store, AnnualReview(config, store)


def cmd_start(args, config: Config) -> int:
    store, review = _review(config)
    try:
        round_, report = review.start(args.province, args.starts_on, args.ends_on, args.remind, actor=args.by)
    except ReviewError as exc:
        raise CommandError(str(exc)) from None
    finally:
        store.dispose()
    print(f"round {round_.id} ({round_.province} {round_.starts_on} to {round_.ends_on}): {report.line()}")
    print("deliver the mails with: beian notices send")
    return 0


def cmd_list(args, config: Config) -> int:
    store = open_store(config)
    with store.session() as session:
        rows = [round_dict(session, r) for r in session.scalars(select(ReviewRound).order_by(ReviewRound.id))]
    store.dispose()
    for row in rows:
        counts = ", ".join(f"{n} {s}" for s, n in row["items_by_state"].items() if n) or "no websites"
        print(f"{row['id']:>4}  {row['province']}  {row['from']} to {row['to']}  {row['state']:<7} {counts}")
    print(f"{len(rows)} rounds")
    return 0


def cmd_show(args, config: Config) -> int:
    store = open_store(config)
    try:
        round_ = AnnualReview(config, store).get(args.id)
    except ReviewError as exc:
        raise CommandError(str(exc)) from None
    with store.session() as session:
        summary = round_dict(session, round_)
        statement = select(ReviewItem).where(ReviewItem.round_id == args.id).order_by(ReviewItem.website_number)
        if args.state:
            statement = statement.where(ReviewItem.state.in_(args.state))
        items = [item_dict(i) for i in session.scalars(statement)]
    store.dispose()
    for item in items:
        first = (item["phones"] or [{}])[0]
        item["phone"] = first.get("mobile", "")
        item["platform"] = first.get("platform", "")
    if args.format == "jsonl":
        write_jsonl(items, sys.stdout)
        return 0
    if args.format == "csv":
        write_csv(items, sys.stdout, ITEM_COLUMNS)
        return 0
    counts = ", ".join(f"{n} {s}" for s, n in summary["items_by_state"].items() if n) or "no websites"
    print(f"round {summary['id']}  {summary['province']}  {summary['from']} to {summary['to']}  {summary['state']}  {counts}")
    print(f"  reminders {', '.join(summary['reminders']) or '-'} (sent: {', '.join(summary['reminders_sent']) or '-'})")
    write_table(items, sys.stdout, ["website_number", "state", "status", "sms_text", "phone", "platform", "recipient"])
    return 0


def cmd_done(args, config: Config) -> int:
    store, review = _review(config)
    try:
        report = review.record_done(args.id, args.websites, "operator (CLI)", actor=args.by)
    except ReviewError as exc:
        raise CommandError(str(exc)) from None
    finally:
        store.dispose()
    print(report.line())
    return 0


def cmd_import(args, config: Config) -> int:
    store, review = _review(config)
    try:
        report = review.import_done(args.id, args.path, actor=args.by)
    except ReviewError as exc:
        raise CommandError(str(exc)) from None
    finally:
        store.dispose()
    print(report.line())
    return 0


def cmd_sweep(args, config: Config) -> int:
    store, review = _review(config)
    try:
        results = review.sweep()
    finally:
        store.dispose()
    for round_, report in results:
        print(f"round {round_.id} ({round_.province}): {report.line()}")
    if not results:
        print("no open annual review round")
    return 0


def cmd_close(args, config: Config) -> int:
    store, review = _review(config)
    try:
        report = review.close(args.id)
    except ReviewError as exc:
        raise CommandError(str(exc)) from None
    finally:
        store.dispose()
    print(f"round {args.id}: {report.line()}")
    return 0
