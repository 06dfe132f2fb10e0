"""The scan report: one self-contained HTML file per scan (no external links; the chart is inline SVG),
and the same data as CSV, XLSX or JSON Lines.

Built from the store only: the scan's open findings with their evidence, the subject's province and
nature for each, what is new and what was resolved since the previous full scan, and the trend of
open findings over the last N scans.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from checks import get as declared
from scanner.findings import as_contract
from scanner.reports.jinja import environment
from scanner.store.db import shanghai_iso
from scanner.store.models import Finding, Observation, Scan, Subject, Website

FORMATS = ("html", "csv", "xlsx", "jsonl")
SEVERITY_LABELS = {"critical": "严重", "violation": "违规", "warning": "提示"}
NATURE_UNKNOWN = "未知"
COLUMNS = ["check", "title", "severity", "province", "nature", "subject_number", "website_number", "domain",
           "summary", "new", "first_seen", "last_seen"]
HEADERS = ["检查项", "问题", "级别", "省份", "主体性质", "主体备案号", "网站备案号", "域名", "问题描述", "本次新增", "首次发现",
           "最近发现"]


class ReportError(Exception):
    """No such scan, or nothing to report; one line."""


@dataclass
class ScanReport:
    scan: dict
    findings: list[dict]
    by_code: list[tuple[str, str, int]]  # code, title, count
    by_severity: list[tuple[str, int]]
    by_province: list[tuple[str, int]]
    by_nature: list[tuple[str, int]]
    new: int
    resolved: list[dict]
    previous_scan_id: int | None
    trend: list[dict] = field(default_factory=list)  # {scan_id, date, open, by_severity}
    chart_svg: str = ""


def _scan_dict(scan: Scan) -> dict:
    stats = scan.stats or {}
    return {"id": scan.id, "state": scan.state, "started_at": shanghai_iso(scan.started_at),
            "finished_at": shanghai_iso(scan.finished_at) if scan.finished_at else "", "selector": scan.selector or {},
            "websites": stats.get("websites", 0), "observed": stats.get("observed", 0),
            "not_checked": stats.get("not_checked", 0), "elapsed_s": stats.get("elapsed_s"),
            "findings_by_code": stats.get("findings_by_code", {}), "render": stats.get("render", {}),
            "health": stats.get("health", {})}


def _full(scan: Scan) -> bool:
    selector = scan.selector or {}
    return not any(selector.get(k) for k in ("domains", "websites", "subjects", "checks"))


def latest_scan_id(session: Session) -> int:
    scan_id = session.scalar(select(Scan.id).where(Scan.state == "finished").order_by(Scan.id.desc()).limit(1))
    if scan_id is None:
        raise ReportError("no finished scan yet: run `beian scan` first")
    return scan_id


def build(session: Session, scan_id: int | None = None, trend_scans: int = 12) -> ScanReport:
    if scan_id is None:
        scan_id = latest_scan_id(session)
    scan = session.get(Scan, scan_id)
    if scan is None:
        raise ReportError(f"scan {scan_id}: no such scan (see `beian scans`)")
    subjects = {s.subject_number: (s.province or NATURE_UNKNOWN, s.nature or NATURE_UNKNOWN)
                for s in session.scalars(select(Subject))}
    rows = session.scalars(_findings_of(session, scan)).all()
    findings = []
    for row in rows:
        province, nature = subjects.get(row.subject_number, (NATURE_UNKNOWN, NATURE_UNKNOWN))
        item = as_contract(row) | {"title": declared(row.check).title, "province": province, "nature": nature,
                                   "new": row.first_scan_id == scan_id, "id": row.id}
        findings.append(item)
    previous = session.scalar(
        select(Scan.id).where(Scan.id < scan_id, Scan.state == "finished").order_by(Scan.id.desc()).limit(1)
    )
    resolved = []
    if previous is not None:
        closed = session.scalars(
            select(Finding).where(Finding.last_scan_id == previous, Finding.closed_at.is_not(None),
                                  Finding.closed_at >= scan.started_at)
        ).all()
        resolved = [as_contract(row) | {"title": declared(row.check).title} for row in closed]
    codes = Counter(f["check"] for f in findings)
    report = ScanReport(
        scan=_scan_dict(scan),
        findings=findings,
        by_code=[(code, declared(code).title, n) for code, n in codes.most_common()],
        by_severity=Counter(f["severity"] for f in findings).most_common(),
        by_province=Counter(f["province"] for f in findings).most_common(),
        by_nature=Counter(f["nature"] for f in findings).most_common(),
        new=sum(1 for f in findings if f["new"]),
        resolved=resolved,
        previous_scan_id=previous,
    )
    report.trend = trend(session, upto=scan_id, scans=trend_scans)
    report.chart_svg = trend_chart(report.trend)
    return report


def _findings_of(session: Session, scan: Scan):
    """The findings open while `scan` ran and seen by it: open at its end and seen since its start (later
    scans move last_seen on, so this holds for old scans too). A partial scan (a rescan) reports only the
    websites it observed and their subjects' registry findings."""
    from core import clock

    end = scan.finished_at or clock.now()
    statement = select(Finding).where(Finding.first_seen <= end, Finding.last_seen >= scan.started_at,
                                      or_(Finding.closed_at.is_(None), Finding.closed_at > end))
    if not _full(scan):
        observed = select(Observation.website_id).where(Observation.scan_id == scan.id)
        websites = select(Website.website_number).where(Website.id.in_(observed))
        subjects = select(Subject.subject_number).join(Website, Website.subject_id == Subject.id).where(Website.id.in_(observed))
        statement = statement.where(or_(Finding.website_number.in_(websites),
                                        Finding.website_number.is_(None) & Finding.subject_number.in_(subjects)))
    return statement.order_by(Finding.severity, Finding.check, Finding.subject_number, Finding.website_number)


def trend(session: Session, upto: int | None = None, scans: int = 12) -> list[dict]:
    """Open findings at the end of each of the last `scans` finished full scans (oldest first)."""
    statement = select(Scan).where(Scan.state == "finished").order_by(Scan.id.desc())
    if upto is not None:
        statement = statement.where(Scan.id <= upto)
    chosen = [scan for scan in session.scalars(statement.limit(scans * 4)) if _full(scan)][:scans]
    points = []
    for scan in reversed(chosen):
        finished = scan.finished_at or scan.started_at
        open_rows = session.execute(
            select(Finding.severity).where(Finding.first_seen <= finished,
                                           or_(Finding.closed_at.is_(None), Finding.closed_at > finished))
        ).scalars().all()
        severities = Counter(open_rows)
        points.append({"scan_id": scan.id, "date": shanghai_iso(finished)[:10], "open": len(open_rows),
                       "by_severity": dict(severities)})
    return points


def trend_chart(points: list[dict], width: float = 7.0, height: float = 2.6) -> str:
    """The trend as an inline SVG (matplotlib; text kept as text so the browser's CJK fonts draw it)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.ticker import MaxNLocator

    matplotlib.rcParams["svg.fonttype"] = "none"
    matplotlib.rcParams["svg.hashsalt"] = "beian-scanner"  # stable ids: the same data gives the same file
    figure, axes = plt.subplots(figsize=(width, height), dpi=96)
    try:
        labels = [f"#{p['scan_id']}\n{p['date'][5:]}" for p in points]
        xs = list(range(len(points)))
        axes.plot(xs, [p["open"] for p in points], marker="o", color="#c0392b", label="open findings")
        for severity, colour in (("violation", "#e67e22"), ("warning", "#7f8c8d"), ("critical", "#8e44ad")):
            values = [p["by_severity"].get(severity, 0) for p in points]
            if any(values):
                axes.plot(xs, values, marker=".", linewidth=1, color=colour, label=severity)
        axes.set_xticks(xs, labels, fontsize=7)
        axes.set_ylim(bottom=0)
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(axis="y", alpha=0.3)
        axes.legend(fontsize=7, loc="upper left", frameon=False)
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
        figure.tight_layout()
        out = io.StringIO()
        figure.savefig(out, format="svg", metadata={"Date": None})
    finally:
        plt.close(figure)
    svg = out.getvalue()
    return svg[svg.index("<svg") :]


def render_html(report: ScanReport, provider: str = "", generated: datetime | None = None) -> str:
    from core import clock

    template = environment().get_template("report.html.j2")
    return template.render(r=report, provider=provider, severity_labels=SEVERITY_LABELS,
                           generated=shanghai_iso(generated or clock.now()))


def _table(report: ScanReport) -> list[list]:
    return [[f[c] if c != "new" else ("是" if f["new"] else "") for c in COLUMNS] for f in report.findings]


def write(report: ScanReport, fmt: str, out, provider: str = "") -> int:
    """Write the report in `fmt` to `out` (a text stream; a binary one for xlsx). Returns the findings."""
    if fmt == "html":
        out.write(render_html(report, provider))
    elif fmt == "jsonl":
        for f in report.findings:
            out.write(json.dumps({k: v for k, v in f.items() if k not in ("id", "title", "new", "province", "nature")},
                                 ensure_ascii=False) + "\n")
    elif fmt == "csv":
        writer = csv.writer(out)
        writer.writerow(HEADERS)
        writer.writerows(_table(report))
    elif fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        sheet.title = f"扫描{report.scan['id']}"
        sheet.append(HEADERS)
        for line in _table(report):
            sheet.append(line)
        summary = book.create_sheet("按检查项")
        summary.append(["检查项", "问题", "数量"])
        for code, title, n in report.by_code:
            summary.append([code, title, n])
        book.save(out)
    else:
        raise ReportError(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")
    return len(report.findings)
