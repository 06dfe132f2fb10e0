"""Scheduled jobs. APScheduler keeps them in the product's database by reference, so they are plain
module-level functions taking the config path."""

from __future__ import annotations

from core.config import database_url, load_config
from scanner.store.db import Store


def _open(config_path: str):
    config = load_config(config_path or None)
    return config, Store(database_url(config))


def nightly_scan(config_path: str) -> None:
    """Queue the full scan, unless one is already queued or running (a long scan is never started twice)."""
    from sqlalchemy import select

    from scanner.rescans import QUEUED, RUNNING, Ask, enqueue
    from scanner.store.models import RescanRequest
    from scanner.targets import Selector

    _config, store = _open(config_path)
    try:
        everything = Selector().as_dict()
        with store.session() as session:
            busy = [r.selector for r in session.scalars(
                select(RescanRequest).where(RescanRequest.state.in_((QUEUED, RUNNING))))]
        if everything not in busy:
            enqueue(store, Ask(), kind="nightly", by="schedule")
    finally:
        store.dispose()


def sweep(config_path: str) -> None:
    """The daily sweep: annual review rounds (new websites, reminders, a round's end), contact verifications
    (pending SMS, bounces, expiry), deadlines passed,
    reminders, notices of open cases, expired evidence screenshots; then deliver the outbox."""
    from scanner.cases import CaseBook
    from scanner.notices.deliver import DeliveryError, Sender
    from scanner.workflows.annual_review import AnnualReview

    config, store = _open(config_path)
    try:
        AnnualReview(config, store).sweep()
        if config.contacts.secret:
            from scanner.workflows.contacts import ContactVerifier

            ContactVerifier(config, store).sweep()
        CaseBook(config, store).reconcile(None)
        from scanner.store import screenshots

        screenshots.sweep(config, store)
        try:
            Sender(config, store).run()
        except DeliveryError:
            pass  # another delivery run holds the outbox; it will send these
    finally:
        store.dispose()


def weekly_report(config_path: str) -> None:
    """Write the week's report beside the outbox, for the operators' review: the latest scan's HTML report
    (with the trend chart), and every open finding and active case as CSV."""
    import io
    from datetime import datetime
    from pathlib import Path

    from scanner.cases import ACTIVE
    from scanner.findings import query
    from scanner.reports.exports import CASE_COLUMNS, FINDING_COLUMNS, case_row, finding_rows, write_csv
    from scanner.store.models import Case

    config, store = _open(config_path)
    try:
        folder = Path(config.notices.outbox_dir).parent / "reports"
        folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now().strftime("%Y-%m-%d")
        with store.session() as session:
            findings = io.StringIO()
            write_csv(finding_rows(query(session, open_only=True)), findings, FINDING_COLUMNS)
            cases = io.StringIO()
            from sqlalchemy import select

            write_csv([case_row(c) for c in session.scalars(select(Case).where(Case.state.in_(ACTIVE)))], cases, CASE_COLUMNS)
        (folder / f"weekly-{stamp}-findings.csv").write_text(findings.getvalue(), encoding="utf-8-sig")
        (folder / f"weekly-{stamp}-cases.csv").write_text(cases.getvalue(), encoding="utf-8-sig")
        from scanner.reports.scan_report import ReportError, build, render_html

        with store.session() as session:
            try:
                report = build(session)
            except ReportError:
                report = None  # no finished scan yet: the CSVs say what there is
        if report is not None:
            (folder / f"weekly-{stamp}.html").write_text(render_html(report, config.provider.name), encoding="utf-8")
    finally:
        store.dispose()
