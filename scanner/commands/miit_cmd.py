"""`beian miit check`: the MIIT cross-check (是否备案查询, seeds 003/004) through the configured query service."""

from __future__ import annotations

from core.config import Config
from scanner.commands.common import CommandError, open_store
from scanner.workflows.miit import CrossCheck, LookupError_


def register(sub) -> None:
    p = sub.add_parser(
        "miit",
        help="cross-check our websites against MIIT's filing query (off unless lookup.url is set)",
        description="Asks the filing query service of [lookup] (url, token, rate_per_s) about every 已备案 website. "
        "filing.unknown_at_miit: MIIT has no record (an explicit 'no record' on two different days; an empty, "
        "rate-limited, captcha or error answer is could not check); filing.registry_stale: MIIT's record differs "
        "from ours (subject name, domains, status).",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    check = actions.add_parser("check", help="ask about every 已备案 website (or --website), store the answers, judge")
    check.add_argument("--website", action="append", default=[], metavar="NUM", help="only this website")
    check.add_argument("--limit", type=int, default=None, help="ask about at most N websites")
    check.set_defaults(func=cmd_check)


def cmd_check(args, config: Config) -> int:
    store = open_store(config)
    try:
        report = CrossCheck(config, store).run(args.website or None, args.limit)
    except LookupError_ as exc:
        raise CommandError(str(exc)) from None
    finally:
        store.dispose()
    print(report.line())
    return 0
