"""`beian website show NUM` (a website's whole story, text or --json) and `beian website search TEXT`."""

from __future__ import annotations

import json
import sys

from core.config import Config
from scanner.commands.common import CommandError, open_store
from scanner.reports.exports import write_table
from scanner.website_story import NotFound, search, story

SEARCH_COLUMNS = ["website_number", "name", "status", "domains", "subject_name", "customer_email"]


def register(sub) -> None:
    p = sub.add_parser("website", help="one website's whole story; find websites",
                       description="`show NUM`: the registry record and its changes, every scan's observation, "
                       "findings, cases with their audit trails, messages with their delivery state, operator "
                       "actions. `search TEXT`: websites by number, domain, subject name or customer email.")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    show = actions.add_parser("show", help="a website's registry record, scans, findings, cases and messages")
    show.add_argument("number", metavar="NUM", help="website number (网站备案号), e.g. 京ICP备10206937号-1")
    show.add_argument("--json", action="store_true", help="one JSON object instead of text")
    show.set_defaults(func=cmd_show)
    find = actions.add_parser("search", help="websites by number, domain, subject name or customer email")
    find.add_argument("text", metavar="TEXT")
    find.add_argument("--json", action="store_true", help="JSON Lines instead of a table")
    find.set_defaults(func=cmd_search)


def cmd_search(args, config: Config) -> int:
    store = open_store(config)
    with store.session() as session:
        rows = search(session, args.text)
    store.dispose()
    if args.json:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
        return 0
    write_table([r | {"domains": " ".join(r["domains"])} for r in rows], sys.stdout, SEARCH_COLUMNS)
    print(f"{len(rows)} websites")
    return 0


def cmd_show(args, config: Config) -> int:
    store = open_store(config)
    try:
        with store.session() as session:
            data = story(session, args.number)
    except NotFound as exc:
        raise CommandError(f"{exc}; find it with: beian website search TEXT") from None
    finally:
        store.dispose()
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=1))
        return 0
    print_story(data)
    return 0


def print_story(data: dict) -> None:
    rec, subject = data["record"], data["record"]["subject"]
    print(f"website {rec['website_number']}  {rec['name']}  {rec['status']}"
          + (f"  (removed {rec['removed_at']})" if rec["removed_at"] else ""))
    for label, value in (("domains", " ".join(rec["domains"])), ("homepage", rec["homepage"]),
                         ("subject", f"{subject['subject_number']} {subject['name']} ({subject['nature']}, "
                                     f"{subject['province']})"),
                         ("customer", subject["customer_email"]), ("approved", rec["approved_at"]),
                         ("pre-appr.", ", ".join(f"{p['category']} {p['number']}" for p in rec["pre_approvals"]))):
        if value:
            print(f"  {label:<10} {value}")
    print(f"\nregistry changes ({len(data['changes'])}):")
    for c in data["changes"]:
        fields = ", ".join(sorted(set(c["before"]) | set(c["after"])))
        print(f"  {c['at']}  import {c['import_id']}  {c['kind']} {c['change']}" + (f": {fields}" if fields else ""))
    print(f"\nscans ({len(data['scans'])}, newest first):")
    for s in data["scans"]:
        line = f"  scan {s['scan_id']}  {s['at']}  {s['outcome']}"
        if s.get("fetch_state"):
            line += f"  fetch {s['fetch_state']}" + (f" {s['status']}" if s["status"] else "")
            line += f"  attempts {len(s['attempts'])}  rendered {s['rendered'] or 'no'}"
        if s.get("failure") or s.get("reason"):
            line += f"  ({s.get('failure') or s['reason']})"
        print(line)
        for d in s.get("dns", []):
            chain = " -> ".join([d["name"], *d["chain"]])
            owners = ", ".join(f"{o['address']} {o['kind']}" + (f" {o['owner']}" if o["owner"] else "")
                               for o in d["owners"]) or ", ".join(d["addresses"])
            print(f"      dns {chain}: {d['outcome']}  {owners}")
    print(f"\nfindings ({len(data['findings'])}):")
    for f in data["findings"]:
        state = "open" if f["open"] else f"closed {f['closed_at']}"
        print(f"  {f['check']:<28} {state:<24} {f['first_seen'][:16]} .. {f['last_seen'][:16]}  {f['summary']}")
    print(f"\ncases ({len(data['cases'])}):")
    for c in data["cases"]:
        print(f"  case {c['id']}  {c['state']}  {c['check']}  deadline {c['deadline'] or '-'}")
        for e in c["events"]:
            change = e["to"] if e["from"] in (None, e["to"]) else f"{e['from']} -> {e['to']}"
            print(f"      {e['at']}  {change:<22} {e['actor']:<16} {e['reason']}")
    print(f"\nmessages ({len(data['messages'])}):")
    for m in data["messages"]:
        print(f"  #{m['id']} {m['kind']:<9} {m['state']:<8} {m['created_at']}  {m['recipient']}  {m['subject']}"
              + (f"  ({m['last_error']})" if m["last_error"] else ""))
    print(f"\noperator actions ({len(data['actions'])}):")
    for a in data["actions"]:
        print(f"  {a['at']}  case {a['case_id']}  {a['to']:<10} {a['actor']:<16} {a['reason']}")
    for r in data["rescans"]:
        print(f"  {r['requested_at']}  rescan #{r['id']} {r['state']} by {r['requested_by']}"
              + (f" -> scan {r['scan_id']}" if r["scan_id"] else ""))
