"""`beian registry import|show|stats`."""

from __future__ import annotations

import json
import sys
from collections import Counter

from sqlalchemy import func, select

from core.config import Config
from scanner.commands.common import CommandError, open_store
from scanner.registry.importer import MassRemovalError, import_file
from scanner.registry.parse import RegistryFileError
from scanner.store.db import shanghai_iso
from scanner.store.models import Contact, Domain, PreApproval, Subject, Website


def register(sub) -> None:
    registry = sub.add_parser("registry", help="import and inspect the filing registry")
    actions = registry.add_subparsers(dest="registry_command", metavar="ACTION")
    actions.required = True
    p = actions.add_parser(
        "import",
        help="import a registry file (.json per CONTRACT §2, or flat .csv/.xlsx); idempotent",
        description="Upsert subjects and websites keyed by filing number. Records missing from the file are "
        "marked removed (history kept). A file with structural errors stores nothing, and so does one that "
        "would mark more than registry.max_removal_share (default 20 %) of the stored websites or subjects "
        "removed.",
    )
    p.add_argument("path", metavar="PATH")
    p.add_argument(
        "--allow-mass-removal",
        action="store_true",
        help="import even when the file would mark more than registry.max_removal_share of the registry removed",
    )
    p.set_defaults(func=cmd_import)
    p = actions.add_parser("show", help="show one subject or website by its filing number")
    p.add_argument("number", metavar="NUMBER")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=cmd_show)
    p = actions.add_parser("stats", help="counts by province, nature and status")
    p.set_defaults(func=cmd_stats)


def cmd_import(args, config: Config) -> int:
    store = open_store(config)
    share = None if args.allow_mass_removal else config.registry.max_removal_share
    try:
        result = import_file(store, args.path, max_removal_share=share)
    except MassRemovalError as exc:
        store.dispose()
        raise CommandError(f"{args.path}: {exc}") from None
    except RegistryFileError as exc:
        store.dispose()
        for line in exc.errors:
            print(line, file=sys.stderr)
        if exc.truncated:
            print(f"(more errors not shown; first {len(exc.errors)} listed)", file=sys.stderr)
        raise CommandError(f"{args.path}: {len(exc.errors)} error(s); nothing was imported") from None
    print(f"imported {args.path}: {result.summary()}")
    try:
        if result.changed:
            from scanner.registry_checks import run_registry_checks

            by_code = run_registry_checks(config, store)
            total = sum(by_code.values())
            print(f"registry checks: {total} finding(s)" + (": " + ", ".join(f"{c} {n}" for c, n in sorted(by_code.items()))
                                                             if total else ""))
    finally:
        store.dispose()
    return 0


def _subject_view(session, subject: Subject) -> dict:
    principal = session.scalars(
        select(Contact).where(Contact.subject_id == subject.id, Contact.website_id.is_(None))
    ).first()
    sites = session.scalars(select(Website).where(Website.subject_id == subject.id).order_by(Website.website_number))
    return {
        "subject_number": subject.subject_number,
        "name": subject.name,
        "nature": subject.nature,
        "certificate_type": subject.certificate_type,
        "certificate_number": subject.certificate_number,
        "province": subject.province,
        "principal": _contact(principal),
        "customer_email": subject.customer_email,
        "removed_at": shanghai_iso(subject.removed_at),
        "websites": [
            {"website_number": w.website_number, "name": w.name, "status": w.status,
             "removed_at": shanghai_iso(w.removed_at)}
            for w in sites
        ],
    }


def _contact(row: Contact | None) -> dict | None:
    if row is None:
        return None
    return {"name": row.name, "mobile": row.mobile, "phone": row.phone, "email": row.email}


def _website_view(session, site: Website) -> dict:
    subject = session.get(Subject, site.subject_id)
    domains = session.scalars(select(Domain).where(Domain.website_id == site.id).order_by(Domain.position))
    leader = session.scalars(select(Contact).where(Contact.website_id == site.id)).first()
    approvals = session.scalars(select(PreApproval).where(PreApproval.website_id == site.id))
    return {
        "website_number": site.website_number,
        "subject_number": subject.subject_number,
        "subject_name": subject.name,
        "name": site.name,
        "status": site.status,
        "homepage": site.homepage,
        "domains": [{"name": d.name, "removed_at": shanghai_iso(d.removed_at)} for d in domains],
        "service_content": site.service_content,
        "pre_approvals": [{"category": a.category, "number": a.number} for a in approvals],
        "leader": _contact(leader),
        "removed_at": shanghai_iso(site.removed_at),
    }


def cmd_show(args, config: Config) -> int:
    store = open_store(config)
    try:
        with store.session() as session:
            site = session.scalars(select(Website).where(Website.website_number == args.number)).first()
            if site is not None:
                view = _website_view(session, site)
            else:
                subject = session.scalars(select(Subject).where(Subject.subject_number == args.number)).first()
                if subject is None:
                    raise CommandError(f"{args.number}: no subject or website with this filing number")
                view = _subject_view(session, subject)
    finally:
        store.dispose()
    if args.json:
        print(json.dumps(view, ensure_ascii=False, indent=2))
    else:
        _print_tree(view)
    return 0


def _print_tree(view: dict, indent: str = "") -> None:
    for key, value in view.items():
        if isinstance(value, list):
            print(f"{indent}{key}:")
            for item in value:
                if isinstance(item, dict):
                    print(f"{indent}  - " + ", ".join(f"{k}={v}" for k, v in item.items() if v not in (None, "")))
                else:
                    print(f"{indent}  - {item}")
        elif isinstance(value, dict):
            print(f"{indent}{key}: " + ", ".join(f"{k}={v}" for k, v in value.items() if v))
        elif value not in (None, ""):
            print(f"{indent}{key}: {value}")


def cmd_stats(args, config: Config) -> int:
    store = open_store(config)
    try:
        with store.session() as session:
            live_subjects = Subject.removed_at.is_(None)
            by_province = Counter(dict(session.execute(
                select(Subject.province, func.count()).where(live_subjects).group_by(Subject.province)).all()))
            by_nature = Counter(dict(session.execute(
                select(Subject.nature, func.count()).where(live_subjects).group_by(Subject.nature)).all()))
            by_status = Counter(dict(session.execute(
                select(Website.status, func.count()).where(Website.removed_at.is_(None))
                .group_by(Website.status)).all()))
            domains = session.scalar(select(func.count()).select_from(Domain).join(Website)
                                     .where(Domain.removed_at.is_(None), Website.removed_at.is_(None)))
            removed = session.scalar(select(func.count()).select_from(Website).where(Website.removed_at.is_not(None)))
    finally:
        store.dispose()
    print(f"subjects {sum(by_nature.values())}, websites {sum(by_status.values())}, domains {domains}, "
          f"websites removed {removed}")
    for title, counter in (("province", by_province), ("nature", by_nature), ("status", by_status)):
        print(f"\nby {title}:")
        for key, count in counter.most_common():
            print(f"  {key or '(none)'}\t{count}")
    return 0
