"""The operator console: server-rendered Chinese pages over the same store and actions as the API.

Cases and findings with filters and pages, a case page with its evidence and audit trail and the rescan,
extend and waive buttons, the escalation worklist (取消接入), scan history with the trend chart and each
scan's report. The same token as the API, given once on the login page; the cookie then holds a random
session id (the table `console_sessions` keeps only its SHA-256, the session's CSRF token and its expiry),
never the token. Failed logins are throttled per client address. Every state-changing request carries the
session's CSRF token in its form and is refused when its Origin/Referer names another origin (SameSite=Strict
alone does not stop a page on the same host, another port). Errors are Chinese pages, never a trace.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import delete, func, select

from checks import all_checks, codes
from checks import get as declared
from core.config import Config
from scanner.cases import ACTIVE, STATES, CaseBook, CaseError
from scanner.findings import as_contract
from scanner.queries import CaseFilter
from scanner.reports.exports import case_row
from scanner.reports.jinja import environment
from scanner.reports.scan_report import ReportError, build, render_html, trend, trend_chart
from scanner.rescans import Ask, RescanError, enqueue
from scanner.store import screenshots
from scanner.store.db import Store, as_utc, shanghai_iso
from scanner.store.models import Case, CaseEvent, ConsoleSession, Finding, RescanRequest, Scan, Subject

COOKIE = "beian_console"
LOGIN_COOKIE = "beian_login_csrf"  # double-submit token of the login form (there is no session yet)
SESSION_TTL = timedelta(hours=12)
MAX_ID = 2**63 - 1  # BIGINT: larger ids cannot exist, and the database driver would overflow on them
SHANGHAI = ZoneInfo("Asia/Shanghai")
STATE_LABELS = {"open": "待通知", "notified": "已通知", "extended": "已延期", "overdue": "已逾期", "escalated": "待取消接入",
                "resolved": "已整改", "waived": "已豁免（误报）"}
PAGE_SIZES = (50, 100, 200, 500)
VERIFY_LABELS = {"sent": "已发送，待核验", "verified": "已核验", "bounced": "邮件退回且短信失败", "expired": "逾期未核验"}
REVIEW_ITEM_LABELS = {"waiting": "备案中（待备案成功）", "due": "待通知", "notified": "已通知，待完成", "done": "已完成",
                      "dropped": "已不在我司接入"}
PAGE_SIZE = 100


class NeedLogin(Exception):
    pass


class Forbidden(HTTPException):
    def __init__(self, detail: str) -> None:
        super().__init__(403, detail)


def valid_id(value: int) -> bool:
    return 0 < value <= MAX_ID


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class LoginThrottle:
    """Failed logins per client address: `free` failures, then each attempt waits base x 2^(failures - free)
    seconds after the last failure (at most `cap`); attempts in that window are refused without looking at
    the token. A success clears the address. In memory: `beian serve` is one process, and a restart of the
    server is not something a guesser can trigger. `now` is injectable for tests."""

    def __init__(self, now: Callable[[], datetime], free: int = 5, base_s: float = 1.0, cap_s: float = 900.0,
                 max_clients: int = 10_000) -> None:
        self.now, self.free, self.base_s, self.cap_s, self.max_clients = now, free, base_s, cap_s, max_clients
        self.failures: dict[str, tuple[int, datetime]] = {}

    def wait_s(self, client: str) -> float:
        failures, last = self.failures.get(client, (0, None))
        if failures < self.free or last is None:
            return 0.0
        delay = min(self.cap_s, self.base_s * 2 ** (failures - self.free))
        return max(0.0, delay - (self.now() - last).total_seconds())

    def failed(self, client: str) -> None:
        now = self.now()
        if len(self.failures) >= self.max_clients and client not in self.failures:
            cutoff = now - timedelta(seconds=self.cap_s * 2)
            self.failures = {k: v for k, v in self.failures.items() if v[1] > cutoff}
        failures, _last = self.failures.get(client, (0, now))
        self.failures[client] = (failures + 1, now)

    def succeeded(self, client: str) -> None:
        self.failures.pop(client, None)


@dataclass
class Pager:
    page: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.size))

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    @property
    def first(self) -> int:
        return min(self.total, self.offset + 1)

    @property
    def last(self) -> int:
        return min(self.total, self.offset + self.size)


def _pager(session, statement, page: int, size: int) -> Pager:
    if size not in PAGE_SIZES:
        raise HTTPException(422, f"每页条数只能是 {'、'.join(map(str, PAGE_SIZES))}")
    if page < 1 or page > 10_000_000:
        raise HTTPException(422, "页码须为正整数")
    total = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    return Pager(page, size, total or 0)


def _case(session, case_id: int) -> Case:
    case = session.get(Case, case_id) if valid_id(case_id) else None
    if case is None:
        raise HTTPException(404, f"没有编号为 {case_id} 的案件")
    return case


def create_console(config: Config, store: Store, now: Callable[[], datetime] | None = None) -> APIRouter:
    router = APIRouter(prefix="/console", include_in_schema=False)
    env = environment()
    shared = {"state_labels": STATE_LABELS, "catalog": {c.code: c for c in all_checks()}, "info": declared, "quote": quote}
    now = now or (lambda: datetime.now(UTC))
    throttle = LoginThrottle(now)
    router.throttle = throttle  # type: ignore[attr-defined] - for tests and the operator's curiosity

    def page(name: str, request: Request, status_code: int = 200, **context) -> HTMLResponse:
        context.setdefault("msg", request.query_params.get("msg", ""))
        context.setdefault("csrf", getattr(request.state, "csrf", ""))
        html = env.get_template(f"console/{name}.html.j2").render(provider=config.provider.name,
                                                                  token_set=bool(config.serve.token), **shared,
                                                                  **context)
        response = HTMLResponse(html, status_code=status_code)
        fresh = getattr(request.state, "new_session", "")
        if fresh:
            _set_session_cookie(response, fresh)
        return response

    def _set_session_cookie(response: Response, session_id: str) -> None:
        response.set_cookie(COOKIE, session_id, httponly=True, samesite="strict", path="/console",
                            max_age=int(SESSION_TTL.total_seconds()))

    def _new_session(request: Request) -> tuple[str, str]:
        session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        moment = now()
        with store.transaction() as session:
            session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < moment))
            session.add(ConsoleSession(id_hash=_hash(session_id), csrf=csrf, created_at=moment,
                                       expires_at=moment + SESSION_TTL,
                                       client=(request.client.host if request.client else "")[:64]))
        return session_id, csrf

    def _current(request: Request) -> ConsoleSession | None:
        cookie = request.cookies.get(COOKIE, "")
        if not cookie or len(cookie) > 100:
            return None
        with store.session() as session:
            row = session.get(ConsoleSession, _hash(cookie))
        if row is None or as_utc(row.expires_at) <= now():
            return None
        return row

    def check_login(request: Request) -> None:
        """A valid session, or (no token configured: loopback only) a fresh one made for this browser."""
        row = _current(request)
        if row is None:
            if config.serve.token:
                raise NeedLogin()
            session_id, csrf = _new_session(request)
            request.state.new_session = session_id
            request.state.csrf = csrf
            return
        request.state.csrf = row.csrf

    def same_origin(request: Request) -> None:
        own = f"{request.url.scheme}://{request.headers.get('host', '')}"
        origin = request.headers.get("origin")
        if origin is not None:
            if origin != own:
                raise Forbidden(f"请求来源 {origin[:100]} 不是本控制台（{own}），已拒绝")
            return
        referer = request.headers.get("referer")
        if referer is not None and referer != own and not referer.startswith(own + "/"):
            raise Forbidden("请求来源页面不是本控制台，已拒绝")

    def check_post(request: Request, csrf: str) -> None:
        """Every state-changing request: logged in, from our own origin, with this session's CSRF token."""
        if _current(request) is None and config.serve.token:
            raise NeedLogin()
        same_origin(request)
        row = _current(request)
        if row is None or not csrf or not hmac.compare_digest(csrf.encode(), row.csrf.encode()):
            raise Forbidden("表单已失效或缺少校验码（CSRF），请刷新页面后重试")
        request.state.csrf = row.csrf

    def back(path: str, msg: str) -> RedirectResponse:
        return RedirectResponse(f"/console{path}?msg={quote(msg)}", status_code=303)

    def client_of(request: Request) -> str:
        return request.client.host if request.client else "?"

    @router.get("/login")
    def login_form(request: Request) -> HTMLResponse:
        token = secrets.token_urlsafe(32)
        response = page("login", request, error="", csrf=token)
        response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", path="/console/login")
        return response

    @router.post("/login")
    def login(request: Request, token: Annotated[str, Form(max_length=500)] = "",
              csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
        same_origin(request)
        expected = request.cookies.get(LOGIN_COOKIE, "")
        if not expected or not hmac.compare_digest(csrf.encode(), expected.encode()):
            raise Forbidden("登录表单已失效或缺少校验码（CSRF），请重新打开登录页")
        client = client_of(request)
        wait = throttle.wait_s(client)
        if wait > 0:
            response = page("login", request, status_code=429, csrf=expected,
                            error=f"登录失败次数过多，请 {math.ceil(wait)} 秒后再试")
            response.headers["Retry-After"] = str(math.ceil(wait))
            return response
        if config.serve.token and not hmac.compare_digest(token.encode(), config.serve.token.encode()):
            throttle.failed(client)
            return page("login", request, status_code=401, error="令牌不正确", csrf=expected)
        throttle.succeeded(client)
        session_id, _csrf = _new_session(request)
        response = RedirectResponse("/console/cases", status_code=303)
        _set_session_cookie(response, session_id)
        response.delete_cookie(LOGIN_COOKIE, path="/console/login")
        return response

    @router.post("/logout")
    def logout(request: Request, csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
        check_post(request, csrf)
        with store.transaction() as session:
            session.execute(delete(ConsoleSession).where(ConsoleSession.id_hash == _hash(request.cookies.get(COOKIE, ""))))
        response = RedirectResponse("/console/login", status_code=303)
        response.delete_cookie(COOKIE, path="/console")
        return response

    # the dashboard (/console/), website pages and bulk case actions: scanner/serve/ops_console.py
    from scanner.serve.ops_console import OpsKit, add_ops_pages

    add_ops_pages(router, config, store, OpsKit(page, check_login, check_post, now))

    @router.get("/cases")
    def cases(request: Request, state: str = "", check: str = "", province: str = "", deadline_before: str = "",
              escalated: bool = False, page_no: Annotated[int, Query(alias="page")] = 1,
              size: int = PAGE_SIZE) -> HTMLResponse:
        check_login(request)
        if escalated:
            state = "escalated"
        if state == "active" or not state:
            states = list(ACTIVE)
        elif state in STATES:
            states = [state]
        elif state == "all":
            states = []
        else:
            raise HTTPException(422, f"没有“{state[:50]}”这种案件状态")
        if check and check not in codes():
            raise HTTPException(422, f"没有“{check[:80]}”这个检查项")
        limit = None
        if deadline_before:
            try:
                limit = datetime.combine(date.fromisoformat(deadline_before), time(23, 59, 59), SHANGHAI)
            except ValueError:
                raise HTTPException(422, "整改期限须为 YYYY-MM-DD 格式的日期") from None
        wanted = CaseFilter(states=states, checks=[check] if check else [], provinces=[province] if province else [],
                            deadline_before=limit)
        statement = wanted.select(with_province=True, by_deadline=True)
        with store.session() as session:
            pager = _pager(session, statement, page_no, size)
            rows = [(case_row(c), p or "") for c, p in session.execute(statement.offset(pager.offset).limit(pager.size))]
            provinces = sorted({p for p in session.scalars(select(Subject.province).distinct()) if p})
        f = {"state": state or "active", "check": check, "province": province, "deadline_before": deadline_before}
        return page("cases", request, rows=rows, provinces=provinces, states=STATES, pager=pager, f=f,
                    pager_base="/console/cases", sizes=PAGE_SIZES, bulk_back=request.url.query,
                    pending=len(CaseBook(config, store, now=now()).pending()))

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
            ).all()
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
                        rule=declared(case.check).rule, advice=declared(case.check).remediation,
                        screenshots=screenshots.for_website(session, case.website_number) if case.website_number else [],
                        part_labels=screenshots.PART_LABELS)

    @router.get("/screenshots/{shot_id}/{part}.jpg")
    def screenshot_image(request: Request, shot_id: int, part: str) -> Response:
        check_login(request)
        with store.session() as session:
            data = screenshots.image(session, shot_id, part) if valid_id(shot_id) else None
        if data is None:
            raise HTTPException(404, "没有这张截图（可能已过保留期）")
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600",
                                                               "X-Content-Type-Options": "nosniff"})

    @router.post("/cases/{case_id}/rescan")
    def case_rescan(request: Request, case_id: int, csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
        check_post(request, csrf)
        with store.session() as session:
            case = _case(session, case_id)
            ask = Ask(websites=[case.website_number]) if case.website_number else Ask(subjects=[case.subject_number])
        try:
            row, created = enqueue(store, ask, kind="operator", by="console")
        except RescanError as exc:
            return back(f"/cases/{case_id}", f"无法重新检查：{exc}")
        return RedirectResponse(f"/console/rescans/{row.id}?msg={quote('已加入扫描队列' if created else '已在队列中')}",
                                status_code=303)

    @router.post("/cases/{case_id}/extend")
    def case_extend(request: Request, case_id: int, days: Annotated[int, Form(ge=1, le=60)],
                    reason: Annotated[str, Form(min_length=1, max_length=1000)], by: Annotated[str, Form(max_length=120)] = "console",
                    csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
        check_post(request, csrf)
        _case_exists(case_id)
        try:
            CaseBook(config, store).extend(case_id, days, reason.strip(), actor=by.strip() or "console")
        except CaseError as exc:
            return back(f"/cases/{case_id}", f"未能延期：{exc}")
        return back(f"/cases/{case_id}", f"已延期 {days} 个工作日")

    @router.post("/cases/{case_id}/waive")
    def case_waive(request: Request, case_id: int, reason: Annotated[str, Form(min_length=1, max_length=1000)],
                   by: Annotated[str, Form(max_length=120)] = "console",
                   csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
        check_post(request, csrf)
        _case_exists(case_id)
        try:
            CaseBook(config, store).waive(case_id, reason.strip(), actor=by.strip() or "console")
        except CaseError as exc:
            return back(f"/cases/{case_id}", f"未能豁免：{exc}")
        return back(f"/cases/{case_id}", "已按误报豁免，页面或备案信息变化后自动失效")

    def _case_exists(case_id: int) -> None:
        with store.session() as session:
            _case(session, case_id)

    @router.get("/rescans/{rescan_id}")
    def rescan_page(request: Request, rescan_id: int) -> HTMLResponse:
        check_login(request)
        with store.session() as session:
            row = session.get(RescanRequest, rescan_id) if valid_id(rescan_id) else None
            if row is None:
                raise HTTPException(404, f"没有编号为 {rescan_id} 的重新检查")
            scan = session.get(Scan, row.scan_id) if row.scan_id else None
            return page("rescan", request, rescan={"id": row.id, "state": row.state, "request": row.request or {},
                                                    "scan_id": row.scan_id, "error": row.error or ""},
                        scan={"id": scan.id, "state": scan.state, "stats": scan.stats or {}} if scan else None)

    @router.get("/findings")
    def findings(request: Request, check: str = "", province: str = "", website: str = "",
                 page_no: Annotated[int, Query(alias="page")] = 1, size: int = PAGE_SIZE) -> HTMLResponse:
        check_login(request)
        statement = (select(Finding, Subject.province).outerjoin(Subject, Subject.subject_number == Finding.subject_number)
                     .where(Finding.closed_at.is_(None)))
        if check:
            statement = statement.where(Finding.check == check)
        if province:
            statement = statement.where(Subject.province == province)
        if website:
            statement = statement.where(Finding.website_number == website.strip())
        with store.session() as session:
            pager = _pager(session, statement, page_no, size)
            statement = statement.order_by(Finding.check, Finding.subject_number, Finding.website_number, Finding.id)
            rows = [(as_contract(f), p or "") for f, p in session.execute(statement.offset(pager.offset).limit(pager.size))]
            provinces = sorted({p for p in session.scalars(select(Subject.province).distinct()) if p})
        return page("findings", request, rows=rows, provinces=provinces, pager=pager, sizes=PAGE_SIZES,
                    pager_base="/console/findings", f={"check": check, "province": province, "website": website})

    @router.get("/scans")
    def scans(request: Request, page_no: Annotated[int, Query(alias="page")] = 1, size: int = 50) -> HTMLResponse:
        check_login(request)
        with store.session() as session:
            pager = _pager(session, select(Scan), page_no, size)
            recent = session.scalars(select(Scan).order_by(Scan.id.desc()).offset(pager.offset).limit(pager.size)).all()
            points = trend(session, scans=20)
            rows = [{"id": s.id, "state": s.state, "started_at": shanghai_iso(s.started_at),
                     "finished_at": shanghai_iso(s.finished_at) or "", "selector": s.selector or {},
                     "stats": s.stats or {}} for s in recent]
        return page("scans", request, rows=rows, chart=trend_chart(points) if points else "", pager=pager, f={},
                    pager_base="/console/scans", sizes=PAGE_SIZES)

    @router.get("/scans/{scan_id}")
    def scan_report(request: Request, scan_id: int) -> HTMLResponse:
        check_login(request)
        if not valid_id(scan_id):
            raise HTTPException(404, f"没有编号为 {scan_id} 的扫描")
        with store.session() as session:
            try:
                report = build(session, scan_id)
            except ReportError as exc:
                raise HTTPException(404, f"没有这次扫描的报告：{exc}") from None
        return HTMLResponse(render_html(report, config.provider.name))

    # -- annual review rounds (湖北年审) ----------------------------------------------------------------
    from scanner.store.models import ReviewItem, ReviewRound
    from scanner.workflows.annual_review import (
        ITEM_STATES,
        PLATFORMS,
        AnnualReview,
        ReviewError,
        item_dict,
        read_done_list,
        round_dict,
    )

    def _review_round(session, round_id: int) -> ReviewRound:
        row = session.get(ReviewRound, round_id) if valid_id(round_id) else None
        if row is None:
            raise HTTPException(404, f"没有编号为 {round_id} 的年审轮次")
        return row

    @router.get("/reviews")
    def reviews(request: Request) -> HTMLResponse:
        check_login(request)
        with store.session() as session:
            rows = [round_dict(session, r) for r in session.scalars(select(ReviewRound).order_by(ReviewRound.id.desc()))]
        return page("reviews", request, rows=rows, item_labels=REVIEW_ITEM_LABELS, provider_code=config.provider.code)

    @router.post("/reviews")
    def review_start(request: Request, province: Annotated[str, Form(min_length=1, max_length=1)],
                     starts_on: Annotated[str, Form(max_length=10)], ends_on: Annotated[str, Form(max_length=10)],
                     remind: Annotated[str, Form(max_length=500)] = "", csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
        check_post(request, csrf)
        dates = [d for d in remind.replace("，", ",").replace(" ", ",").split(",") if d.strip()]
        try:
            round_, report = AnnualReview(config, store).start(province, starts_on, ends_on, dates, actor="console")
        except ReviewError as exc:
            return back("/reviews", f"未能开启年审：{exc}")
        return back(f"/reviews/{round_.id}", f"已开启年审轮次，{report.notified} 个网站的年审短信通知已加入发送队列")

    @router.get("/reviews/{round_id}")
    def review_page(request: Request, round_id: int, state: str = "", page_no: Annotated[int, Query(alias="page")] = 1,
                    size: int = PAGE_SIZE) -> HTMLResponse:
        check_login(request)
        if state and state not in ITEM_STATES:
            raise HTTPException(422, f"没有“{state[:50]}”这种年审状态")
        with store.session() as session:
            summary = round_dict(session, _review_round(session, round_id))
            statement = select(ReviewItem).where(ReviewItem.round_id == round_id)
            if state:
                statement = statement.where(ReviewItem.state == state)
            pager = _pager(session, statement, page_no, size)
            rows = [item_dict(i) for i in session.scalars(
                statement.order_by(ReviewItem.website_number).offset(pager.offset).limit(pager.size))]
        return page("review", request, round=summary, rows=rows, pager=pager, sizes=PAGE_SIZES, f={"state": state},
                    pager_base=f"/console/reviews/{round_id}", item_labels=REVIEW_ITEM_LABELS, states=ITEM_STATES,
                    platforms=PLATFORMS)

    @router.post("/reviews/{round_id}/done")
    def review_done(request: Request, round_id: int, websites: Annotated[str, Form(max_length=2_000_000)],
                    csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
        check_post(request, csrf)
        with store.session() as session:
            _review_round(session, round_id)
        numbers = [n for n in websites.replace("，", "\n").replace(",", "\n").split() if n.strip()]
        report = AnnualReview(config, store).record_done(round_id, numbers, "控制台", actor="console")
        return back(f"/reviews/{round_id}", _done_message(report))

    @router.post("/reviews/{round_id}/import")
    async def review_import(request: Request, round_id: int) -> Response:
        import tempfile
        from pathlib import Path

        if _current(request) is None and config.serve.token:
            raise NeedLogin()
        same_origin(request)
        form = await request.form(max_files=1, max_fields=5)
        check_post(request, str(form.get("csrf") or ""))
        with store.session() as session:
            _review_round(session, round_id)
        upload = form.get("file")
        if upload is None or isinstance(upload, str) or not upload.filename:
            return back(f"/reviews/{round_id}", "请选择管局的年审完成名单文件（CSV 或 XLSX）")
        suffix = ".xlsx" if upload.filename.lower().endswith(".xlsx") else ".csv"
        data = await upload.read(20 * 1024 * 1024 + 1)
        if len(data) > 20 * 1024 * 1024:
            return back(f"/reviews/{round_id}", "文件超过 20 MB")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"list{suffix}"
            path.write_bytes(data)
            try:
                report = AnnualReview(config, store).record_done(
                    round_id, read_done_list(path),
                    f"管局名单 {upload.filename[:100]}（控制台）", actor="console")
            except ReviewError as exc:
                return back(f"/reviews/{round_id}", f"未能导入：{str(exc).replace(str(path), upload.filename[:100])}")
        return back(f"/reviews/{round_id}", _done_message(report))

    @router.post("/reviews/{round_id}/close")
    def review_close(request: Request, round_id: int, csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
        check_post(request, csrf)
        with store.session() as session:
            _review_round(session, round_id)
        try:
            report = AnnualReview(config, store).close(round_id, actor="console")
        except ReviewError as exc:
            return back(f"/reviews/{round_id}", f"未能结束：{exc}")
        return back(f"/reviews/{round_id}", f"年审轮次已结束：{report.not_done} 个网站未完成，已生成整改案件")

    def _done_message(report) -> str:
        text = f"已标记完成 {report.done} 个网站"
        if report.already_done:
            text += f"，{report.already_done} 个此前已完成"
        if report.unknown:
            text += f"，{len(report.unknown)} 个备案号不在本轮年审中（如 {report.unknown[0]}）"
        return text

    # -- contact self-verification (负责人联系方式核验) --------------------------------------------------------
    from scanner.store.models import ContactVerification
    from scanner.workflows.contacts import STATES as VERIFY_STATES
    from scanner.workflows.contacts import ContactVerifier, VerifyError, verification_dict

    @router.get("/contacts")
    def contacts(request: Request, state: str = "", page_no: Annotated[int, Query(alias="page")] = 1,
                 size: int = PAGE_SIZE) -> HTMLResponse:
        check_login(request)
        if state and state not in VERIFY_STATES:
            raise HTTPException(422, f"没有“{state[:50]}”这种核验状态")
        statement = select(ContactVerification)
        if state:
            statement = statement.where(ContactVerification.state == state)
        with store.session() as session:
            pager = _pager(session, statement, page_no, size)
            rows = [verification_dict(r) for r in session.scalars(
                statement.order_by(ContactVerification.id.desc()).offset(pager.offset).limit(pager.size))]
            counts = dict(session.execute(select(ContactVerification.state, func.count())
                                          .group_by(ContactVerification.state)).all())
        return page("contacts", request, rows=rows, pager=pager, sizes=PAGE_SIZES, f={"state": state},
                    pager_base="/console/contacts", states=VERIFY_STATES, labels=VERIFY_LABELS, counts=counts,
                    ready=len(config.contacts.secret) >= 16)

    @router.post("/contacts/verify")
    def contacts_verify(request: Request, subject: Annotated[str, Form(max_length=64)] = "",
                        csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
        check_post(request, csrf)
        try:
            report = ContactVerifier(config, store).send([subject.strip()] if subject.strip() else [], actor="console")
        except VerifyError as exc:
            return back("/contacts", f"未能发送：{exc}")
        return back("/contacts", f"已发送 {report.created} 份核验（{report.skipped} 个联系人已有进行中或已完成的核验），"
                    f"短信成功 {report.sms_sent}、被拒收 {report.sms_rejected}、待重试 {report.sms_waiting}")

    # -- MIIT cross-check (是否备案查询) -------------------------------------------------------------------------
    from scanner.store.models import FilingLookupAnswer
    from scanner.workflows.miit import CrossCheck, LookupError_

    @router.get("/miit")
    def miit(request: Request, website: str = "", page_no: Annotated[int, Query(alias="page")] = 1,
             size: int = PAGE_SIZE) -> HTMLResponse:
        check_login(request)
        statement = select(FilingLookupAnswer)
        if website.strip():
            statement = statement.where(FilingLookupAnswer.website_number == website.strip())
        with store.session() as session:
            pager = _pager(session, statement, page_no, size)
            rows = list(session.scalars(statement.order_by(FilingLookupAnswer.id.desc()).offset(pager.offset)
                                        .limit(pager.size)))
            answers = [{"website_number": a.website_number, "day": a.day, "asked_at": shanghai_iso(a.asked_at),
                        "answer": a.answer, "reason": a.reason, "record": a.record or {}} for a in rows]
            open_counts = dict(session.execute(select(Finding.check, func.count()).where(
                Finding.check.in_(("filing.unknown_at_miit", "filing.registry_stale")), Finding.closed_at.is_(None))
                .group_by(Finding.check)).all())
        return page("miit", request, rows=answers, pager=pager, sizes=PAGE_SIZES, f={"website": website},
                    pager_base="/console/miit", configured=bool(config.lookup.url), open_counts=open_counts)

    @router.post("/miit/check")
    def miit_run(request: Request, website: Annotated[str, Form(min_length=1, max_length=64)],
                 csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
        check_post(request, csrf)
        try:
            report = CrossCheck(config, store).run([website.strip()])
        except LookupError_ as exc:
            return back("/miit", f"未能查询：{exc}")
        return back(f"/miit?website={quote(website.strip())}", f"已查询：{report.line()}")

    def error_page(request: Request, status_code: int, detail: str) -> HTMLResponse:
        titles = {400: "请求有误", 401: "需要登录", 403: "已拒绝", 404: "找不到页面", 405: "不支持此操作",
                  422: "参数不正确", 429: "请求过多", 500: "服务器内部错误"}
        return page("error", request, status_code=status_code, title=titles.get(status_code, f"错误 {status_code}"),
                    detail=detail, code=status_code, msg="")

    router.error_page = error_page  # type: ignore[attr-defined] - used by the app's exception handlers
    return router
