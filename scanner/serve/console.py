"""The operator console: server-rendered Chinese pages over the same store and actions as the API.

Cases and findings with filters, a case page with its evidence and audit trail and the rescan, extend
and waive buttons, the escalation worklist (取消接入), scan history with the trend chart and each scan's
report. The same token as the API: given once on the login page, kept in an HttpOnly, SameSite=Strict
cookie (which also keeps other sites from posting the forms).
"""

from __future__ import annotations

import hmac
import json
from datetime import date, datetime, time
from typing import Annotated
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy import select

from checks import all_checks, codes
from checks import get as declared
from core.config import Config
from scanner.cases import ACTIVE, STATES, CaseBook, CaseError
from scanner.findings import as_contract
from scanner.reports.exports import case_row
from scanner.reports.scan_report import ReportError, build, render_html, trend, trend_chart
from scanner.rescans import Ask, RescanError, enqueue
from scanner.store.db import Store, shanghai_iso
from scanner.store.models import Case, CaseEvent, Finding, RescanRequest, Scan, Subject

COOKIE = "beian_console"
SHANGHAI = ZoneInfo("Asia/Shanghai")
STATE_LABELS = {"open": "待通知", "notified": "已通知", "extended": "已延期", "overdue": "已逾期", "escalated": "待取消接入",
                "resolved": "已整改", "waived": "已豁免（误报）"}  # fmt: skip
PAGE_SIZE = 500


class NeedLogin(Exception):
    pass


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("scanner.reports", "templates"), undefined=StrictUndefined,
                      autoescape=select_autoescape(["html", "j2"]))  # fmt: skip
    env.globals.update(state_labels=STATE_LABELS, catalog={c.code: c for c in all_checks()}, info=declared, quote=quote)
    env.filters["pretty"] = lambda value: json.dumps(value, ensure_ascii=False, indent=1, default=str)
    return env


def _case(session, case_id: int) -> Case:
    case = session.get(Case, case_id) if 0 < case_id < 2**63 else None  # beyond BIGINT: no such case
    if case is None:
        raise HTTPException(404, f"没有编号为 {case_id} 的案件")
    return case


def create_console(config: Config, store: Store) -> APIRouter:
    router = APIRouter(prefix="/console", include_in_schema=False)
    env = _environment()

    def page(name: str, request: Request, **context) -> HTMLResponse:
        context.setdefault("msg", request.query_params.get("msg", ""))
        html = env.get_template(f"console/{name}.html.j2").render(provider=config.provider.name,
                                                                  token_set=bool(config.serve.token), **context)  # fmt: skip
        return HTMLResponse(html)

    def check_login(request: Request) -> None:
        token = config.serve.token
        if token and not hmac.compare_digest(request.cookies.get(COOKIE, "").encode(), token.encode()):
            raise NeedLogin()

    def back(path: str, msg: str) -> RedirectResponse:
        return RedirectResponse(f"/console{path}?msg={quote(msg)}", status_code=303)

    @router.get("/login")
    def login_form(request: Request) -> HTMLResponse:
        return page("login", request, error="")

    @router.post("/login")
    def login(request: Request, token: Annotated[str, Form(max_length=500)] = "") -> Response:
        if config.serve.token and not hmac.compare_digest(token.encode(), config.serve.token.encode()):
            return page("login", request, error="令牌不正确")
        response = RedirectResponse("/console/cases", status_code=303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/console")
        return response

    @router.post("/logout")
    def logout() -> Response:
        response = RedirectResponse("/console/login", status_code=303)
        response.delete_cookie(COOKIE, path="/console")
        return response

    @router.get("")
    @router.get("/")
    def home(request: Request) -> Response:
        check_login(request)
        return RedirectResponse("/console/cases", status_code=303)

    @router.get("/cases")
    def cases(request: Request, state: str = "", check: str = "", province: str = "", deadline_before: str = "",
              escalated: bool = False) -> HTMLResponse:  # fmt: skip
        check_login(request)
        if escalated:
            state = "escalated"
        statement = select(Case, Subject.province).outerjoin(Subject, Subject.subject_number == Case.subject_number)
        if state == "active" or not state:
            statement = statement.where(Case.state.in_(ACTIVE))
        elif state in STATES:
            statement = statement.where(Case.state == state)
        elif state != "all":
            raise HTTPException(422, f"state: {state!r} is not a case state")
        if check:
            if check not in codes():
                raise HTTPException(422, f"check: {check!r} is not a check code")
            statement = statement.where(Case.check == check)
        if province:
            statement = statement.where(Subject.province == province)
        if deadline_before:
            try:
                limit = datetime.combine(date.fromisoformat(deadline_before), time(23, 59, 59), SHANGHAI)
            except ValueError:
                raise HTTPException(422, "deadline_before: expected YYYY-MM-DD") from None
            statement = statement.where(Case.deadline.is_not(None), Case.deadline <= limit)
        statement = statement.order_by(Case.deadline.is_(None), Case.deadline, Case.id).limit(PAGE_SIZE)
        with store.session() as session:
            rows = [(case_row(c), p or "") for c, p in session.execute(statement)]
            provinces = sorted({p for p in session.scalars(select(Subject.province).distinct()) if p})
        return page("cases", request, rows=rows, provinces=provinces, states=STATES, limit=PAGE_SIZE,
                    f={"state": state or "active", "check": check, "province": province,
                       "deadline_before": deadline_before})  # fmt: skip

    @router.get("/cases/{case_id}")
    def case_page(request: Request, case_id: int) -> HTMLResponse:
        check_login(request)
        with store.session() as session:
            case = _case(session, case_id)
            events = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)).all()
            finding = session.scalars(
                select(Finding).where(Finding.check == case.check, Finding.subject_number == case.subject_number,
                                      Finding.website_number == case.website_number if case.website_number
                                      else Finding.website_number.is_(None))
                .order_by(Finding.closed_at.is_not(None), Finding.last_seen.desc())
            ).all()  # fmt: skip
            subject = session.scalar(select(Subject).where(Subject.subject_number == case.subject_number))
            rescans = session.scalars(select(RescanRequest).order_by(RescanRequest.id.desc()).limit(200)).all()
            target = case.website_number or case.subject_number
            mine = [r for r in rescans if target in (r.request or {}).get("websites", []) + (r.request or {}).get("subjects", [])][:5]
            return page("case", request, case=case_row(case), active=case.state in ACTIVE,
                        events=[{"at": shanghai_iso(e.at), "from": e.from_state, "to": e.to_state, "actor": e.actor,
                                 "reason": e.reason} for e in events],
                        findings=[as_contract(f) | {"closed": f.closed_at is not None} for f in finding],
                        subject={"name": subject.name if subject else "", "province": subject.province if subject else "",
                                 "nature": subject.nature if subject else ""},
                        rescans=[{"id": r.id, "state": r.state, "scan_id": r.scan_id} for r in mine],
                        rule=declared(case.check).rule, advice=declared(case.check).remediation)  # fmt: skip

    @router.post("/cases/{case_id}/rescan")
    def case_rescan(request: Request, case_id: int) -> Response:
        check_login(request)
        with store.session() as session:
            case = _case(session, case_id)
            ask = Ask(websites=[case.website_number]) if case.website_number else Ask(subjects=[case.subject_number])
        try:
            row, created = enqueue(store, ask, kind="operator", by="console")
        except RescanError as exc:
            return back(f"/cases/{case_id}", f"无法重新检查：{exc}")
        return RedirectResponse(f"/console/rescans/{row.id}?msg={quote('已加入扫描队列' if created else '已在队列中')}",
                                status_code=303)  # fmt: skip

    @router.post("/cases/{case_id}/extend")
    def case_extend(request: Request, case_id: int, days: Annotated[int, Form(ge=1, le=60)],
                    reason: Annotated[str, Form(min_length=1, max_length=1000)], by: Annotated[str, Form(max_length=120)] = "console") -> Response:  # fmt: skip
        check_login(request)
        try:
            CaseBook(config, store).extend(case_id, days, reason.strip(), actor=by.strip() or "console")
        except CaseError as exc:
            return back(f"/cases/{case_id}", f"未能延期：{exc}")
        return back(f"/cases/{case_id}", f"已延期 {days} 个工作日")

    @router.post("/cases/{case_id}/waive")
    def case_waive(request: Request, case_id: int, reason: Annotated[str, Form(min_length=1, max_length=1000)],
                   by: Annotated[str, Form(max_length=120)] = "console") -> Response:  # fmt: skip
        check_login(request)
        try:
            CaseBook(config, store).waive(case_id, reason.strip(), actor=by.strip() or "console")
        except CaseError as exc:
            return back(f"/cases/{case_id}", f"未能豁免：{exc}")
        return back(f"/cases/{case_id}", "已按误报豁免，页面或备案信息变化后自动失效")

    @router.get("/rescans/{rescan_id}")
    def rescan_page(request: Request, rescan_id: int) -> HTMLResponse:
        check_login(request)
        with store.session() as session:
            row = session.get(RescanRequest, rescan_id)
            if row is None:
                raise HTTPException(404, f"没有编号为 {rescan_id} 的重新检查")
            scan = session.get(Scan, row.scan_id) if row.scan_id else None
            return page("rescan", request, rescan={"id": row.id, "state": row.state, "request": row.request or {},
                                                    "scan_id": row.scan_id, "error": row.error or ""},
                        scan={"id": scan.id, "state": scan.state, "stats": scan.stats or {}} if scan else None)  # fmt: skip

    @router.get("/findings")
    def findings(request: Request, check: str = "", province: str = "", website: str = "") -> HTMLResponse:
        check_login(request)
        statement = (select(Finding, Subject.province).outerjoin(Subject, Subject.subject_number == Finding.subject_number)
                     .where(Finding.closed_at.is_(None)))  # fmt: skip
        if check:
            statement = statement.where(Finding.check == check)
        if province:
            statement = statement.where(Subject.province == province)
        if website:
            statement = statement.where(Finding.website_number == website.strip())
        statement = statement.order_by(Finding.check, Finding.subject_number, Finding.website_number).limit(PAGE_SIZE)
        with store.session() as session:
            rows = [(as_contract(f), p or "") for f, p in session.execute(statement)]
            provinces = sorted({p for p in session.scalars(select(Subject.province).distinct()) if p})
        return page("findings", request, rows=rows, provinces=provinces, limit=PAGE_SIZE,
                    f={"check": check, "province": province, "website": website})  # fmt: skip

    @router.get("/scans")
    def scans(request: Request) -> HTMLResponse:
        check_login(request)
        with store.session() as session:
            recent = session.scalars(select(Scan).order_by(Scan.id.desc()).limit(50)).all()
            points = trend(session, scans=20)
            rows = [{"id": s.id, "state": s.state, "started_at": shanghai_iso(s.started_at),
                     "finished_at": shanghai_iso(s.finished_at) or "", "selector": s.selector or {},
                     "stats": s.stats or {}} for s in recent]  # fmt: skip
        return page("scans", request, rows=rows, chart=trend_chart(points) if points else "")

    @router.get("/scans/{scan_id}")
    def scan_report(request: Request, scan_id: int) -> HTMLResponse:
        check_login(request)
        with store.session() as session:
            try:
                report = build(session, scan_id)
            except ReportError as exc:
                raise HTTPException(404, str(exc)) from None
        return HTMLResponse(render_html(report, config.provider.name))

    return router
