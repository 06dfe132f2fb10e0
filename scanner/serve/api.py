"""The operator HTTP API (FastAPI). OpenAPI at /openapi.json; token auth (Bearer) when serve.token is set.

Every path but /healthz needs the token, the schema included. There is no /docs or /redoc: FastAPI's
Swagger UI and ReDoc pages load their scripts from a CDN the operator's browser may not reach, and a
browser cannot send the Bearer header anyway; the console is the human interface, the schema the
machine one. Ids beyond BIGINT are simply not found (404), never handed to the database driver.
"""

from __future__ import annotations

import hmac
import logging
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, Form, HTTPException, Path, Query, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from starlette.exceptions import HTTPException as StarletteHTTPException

from checks import codes
from core.config import Config
from scanner.cases import STATES, CaseBook, CaseError
from scanner.findings import as_contract
from scanner.queries import CaseFilter
from scanner.rescans import Ask, RescanError, enqueue
from scanner.rescans import as_dict as rescan_dict
from scanner.store.db import Store, shanghai_iso
from scanner.store.models import (
    Case,
    CaseEvent,
    Finding,
    Observation,
    RescanRequest,
    ReviewItem,
    ReviewRound,
    Scan,
)
from scanner.workflows.annual_review import ITEM_STATES, AnnualReview, ReviewError, item_dict, round_dict

log = logging.getLogger("beian.api")
Name = Annotated[str, Field(min_length=1, max_length=255)]
CheckCode = Literal[tuple(codes())]  # type: ignore[valid-type]
CaseState = Literal[STATES]  # type: ignore[valid-type]
ItemState = Literal[ITEM_STATES]  # type: ignore[valid-type]


class RescanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    domains: list[Name] = Field(default_factory=list, max_length=10000)
    websites: list[Name] = Field(default_factory=list, max_length=10000)
    subjects: list[Name] = Field(default_factory=list, max_length=10000)
    checks: list[CheckCode] = Field(default_factory=list, max_length=100)
    open_cases: bool = False


class ExtendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    days: int = Field(ge=1, le=60)
    reason: str = Field(min_length=1, max_length=1000, pattern=r"\S")
    by: str = Field(default="api", min_length=1, max_length=120)


class WaiveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=1000, pattern=r"\S")
    by: str = Field(default="api", min_length=1, max_length=120)


Day = Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")]
WebsiteNumber = Annotated[str, Field(min_length=1, max_length=64)]


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    province: str = Field(min_length=1, max_length=1)
    starts_on: Day = Field(alias="from")
    ends_on: Day = Field(alias="to")
    remind: list[Day] = Field(default_factory=list, max_length=20)
    by: str = Field(default="api", min_length=1, max_length=120)


class ReviewDoneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    websites: list[WebsiteNumber] = Field(min_length=1, max_length=100000)
    by: str = Field(default="api", min_length=1, max_length=120)


class MiitCheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    websites: list[Name] = Field(default_factory=list, max_length=10000)
    limit: int | None = Field(default=None, ge=1, le=100000)


class VerifySendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subjects: list[Name] = Field(default_factory=list, max_length=100000)
    again: bool = False
    by: str = Field(default="api", min_length=1, max_length=120)


def create_app(config: Config, store: Store, service=None, now=None) -> FastAPI:
    """`now` (a callable returning an aware datetime) replaces the wall clock of console sessions and the
    login throttle, for tests."""
    app = FastAPI(title="beian-scanner", version="0.1.0", docs_url=None, redoc_url=None, openapi_url=None,
                  description="ICP 备案 compliance scanner: scans, rescans, findings and rectification cases.")

    def authorize(request: Request) -> None:
        token = config.serve.token
        if not token:
            return
        header = request.headers.get("authorization", "")
        given = header[7:] if header.lower().startswith("bearer ") else request.headers.get("x-beian-token", "")
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise HTTPException(status_code=401, detail="missing or wrong token", headers={"WWW-Authenticate": "Bearer"})

    auth = [Depends(authorize)]

    from scanner.serve.console import NeedLogin, create_console, valid_id

    console = create_console(config, store, now=now)
    app.include_router(console)
    app.state.console = console

    from scanner.serve.customer import NOT_FOUND, create_customer, in_customer

    customer = create_customer(config, store, now=now)
    app.include_router(customer)

    def in_console(request: Request) -> bool:
        return request.url.path == "/console" or request.url.path.startswith("/console/")

    @app.exception_handler(NeedLogin)
    async def need_login(_request: Request, _exc: NeedLogin) -> RedirectResponse:
        return RedirectResponse("/console/login", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if in_customer(request):
            return customer.error_page(exc.status_code if exc.status_code < 500 else 404, NOT_FOUND)
        if in_console(request):
            detail = exc.detail if isinstance(exc.detail, str) else ""
            if exc.status_code == 404 and detail in ("", "Not Found"):
                detail = "没有这个页面"
            if exc.status_code == 405:
                detail = "这个地址不支持此操作"
            return console.error_page(request, exc.status_code, detail)
        return await http_exception_handler(request, exc)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        if in_customer(request):
            return customer.error_page(404, NOT_FOUND)
        if in_console(request):
            fields = sorted({str(e.get("loc", ["?"])[-1]) for e in exc.errors()})
            return console.error_page(request, 422, "请求参数不正确：" + "、".join(fields))
        return await request_validation_exception_handler(request, exc)

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception):
        log.exception("API error", exc_info=exc)
        if in_customer(request):
            return customer.error_page(500, "系统繁忙，请稍后再试；如多次出现，请回复通知邮件联系我们")
        if in_console(request):
            return console.error_page(request, 500, "处理请求时出错，详情见服务器日志")
        return JSONResponse({"detail": "internal error; see the server log"}, status_code=500)

    def found(row_id: int, row, what: str):
        if row is None:
            raise HTTPException(status_code=404, detail=f"no {what} {row_id}")
        return row

    @app.get("/openapi.json", dependencies=[Depends(authorize)], include_in_schema=False)
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/healthz")
    def healthz() -> dict:
        with store.session() as session:
            queued = session.scalar(select(func.count()).select_from(RescanRequest).where(RescanRequest.state == "queued"))
        return {"status": "ok", "queued": queued, "running": len(service.running) if service else 0}

    @app.post("/rescans", status_code=202, dependencies=auth)
    def post_rescan(body: RescanIn) -> dict:
        ask = Ask(list(body.domains), list(body.websites), list(body.subjects), list(body.checks), body.open_cases)
        try:
            row, created = enqueue(store, ask, kind="operator", by="api")
        except RescanError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        return {**rescan_dict(row), "created": created}

    @app.get("/rescans/{rescan_id}", dependencies=auth)
    def get_rescan(rescan_id: int) -> dict:
        with store.session() as session:
            row = found(rescan_id, session.get(RescanRequest, rescan_id) if valid_id(rescan_id) else None, "rescan")
            return rescan_dict(row)

    @app.get("/scans", dependencies=auth)
    def list_scans(limit: Annotated[int, Query(ge=1, le=500)] = 20) -> list[dict]:
        with store.session() as session:
            return [_scan(session, s) for s in session.scalars(select(Scan).order_by(Scan.id.desc()).limit(limit))]

    @app.get("/scans/{scan_id}", dependencies=auth)
    def get_scan(scan_id: int) -> dict:
        with store.session() as session:
            scan = found(scan_id, session.get(Scan, scan_id) if valid_id(scan_id) else None, "scan")
            return _scan(session, scan)

    @app.get("/findings", dependencies=auth)
    def list_findings(
        check: Annotated[list[CheckCode], Query()] = [],  # noqa: B006 - FastAPI copies defaults
        website: Annotated[str | None, Query(max_length=255)] = None,
        open: bool = True,  # noqa: A002 - the public parameter name
        limit: Annotated[int, Query(ge=1, le=5000)] = 500,
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    ) -> list[dict]:
        statement = select(Finding).order_by(Finding.id)
        if check:
            statement = statement.where(Finding.check.in_(check))
        if website:
            statement = statement.where(Finding.website_number == website)
        if open:
            statement = statement.where(Finding.closed_at.is_(None))
        with store.session() as session:
            return [as_contract(row) for row in session.scalars(statement.offset(offset).limit(limit))]

    @app.get("/cases", dependencies=auth)
    def list_cases(
        state: Annotated[list[CaseState], Query()] = [],  # noqa: B006
        check: Annotated[list[CheckCode], Query()] = [],  # noqa: B006
        escalated: bool = False,
        limit: Annotated[int, Query(ge=1, le=5000)] = 500,
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    ) -> list[dict]:
        from scanner.reports.exports import case_row

        statement = CaseFilter(states=["escalated"] if escalated else state, checks=check).select()
        with store.session() as session:
            return [case_row(c) for c in session.scalars(statement.offset(offset).limit(limit))]

    @app.get("/cases/{case_id}", dependencies=auth)
    def get_case(case_id: int) -> dict:
        from scanner.reports.exports import case_row

        with store.session() as session:
            case = found(case_id, session.get(Case, case_id) if valid_id(case_id) else None, "case")
            events = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id))
            return {**case_row(case), "events": [
                {"at": shanghai_iso(e.at), "from": e.from_state, "to": e.to_state, "actor": e.actor, "reason": e.reason}
                for e in events]}

    @app.post("/cases/{case_id}/extend", dependencies=auth)
    def extend(case_id: int, body: ExtendIn) -> dict:
        return _act(lambda book: book.extend(case_id, body.days, body.reason, actor=body.by), case_id)

    @app.post("/cases/{case_id}/waive", dependencies=auth)
    def waive(case_id: int, body: WaiveIn) -> dict:
        return _act(lambda book: book.waive(case_id, body.reason, actor=body.by), case_id)

    def _act(action, case_id: int) -> dict:
        from scanner.reports.exports import case_row

        with store.session() as session:
            found(case_id, session.get(Case, case_id) if valid_id(case_id) else None, "case")
        try:
            return case_row(action(CaseBook(config, store)))
        except CaseError as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from None

    # -- annual review rounds (湖北年审) --------------------------------------------------------------------
    def _round(session, round_id: int) -> ReviewRound:
        return found(round_id, session.get(ReviewRound, round_id) if valid_id(round_id) else None, "annual review round")

    @app.get("/reviews", dependencies=auth)
    def list_reviews() -> list[dict]:
        with store.session() as session:
            return [round_dict(session, r) for r in session.scalars(select(ReviewRound).order_by(ReviewRound.id))]

    @app.post("/reviews", status_code=201, dependencies=auth)
    def start_review(body: ReviewIn) -> dict:
        try:
            round_, report = AnnualReview(config, store).start(body.province, body.starts_on, body.ends_on,
                                                               list(body.remind), actor=body.by)
        except ReviewError as exc:
            raise HTTPException(status_code=409 if "still open" in str(exc) else 400, detail=str(exc)) from None
        with store.session() as session:
            return {**round_dict(session, session.get(ReviewRound, round_.id)), "run": report.line()}

    @app.get("/reviews/{round_id}", dependencies=auth)
    def get_review(round_id: int) -> dict:
        with store.session() as session:
            return round_dict(session, _round(session, round_id))

    @app.get("/reviews/{round_id}/items", dependencies=auth)
    def review_items(
        round_id: int,
        state: Annotated[list[ItemState], Query()] = [],  # noqa: B006
        limit: Annotated[int, Query(ge=1, le=5000)] = 500,
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    ) -> list[dict]:
        with store.session() as session:
            _round(session, round_id)
            statement = select(ReviewItem).where(ReviewItem.round_id == round_id).order_by(ReviewItem.website_number)
            if state:
                statement = statement.where(ReviewItem.state.in_(state))
            return [item_dict(i) for i in session.scalars(statement.offset(offset).limit(limit))]

    @app.post("/reviews/{round_id}/done", dependencies=auth)
    def review_done(round_id: int, body: ReviewDoneIn) -> dict:
        with store.session() as session:
            _round(session, round_id)
        report = AnnualReview(config, store).record_done(round_id, list(body.websites), "API", actor=body.by)
        return {"done": report.done, "already_done": report.already_done, "unknown": report.unknown}

    @app.post("/reviews/{round_id}/close", dependencies=auth)
    def review_close(round_id: int) -> dict:
        with store.session() as session:
            _round(session, round_id)
        try:
            report = AnnualReview(config, store).close(round_id, actor="api")
        except ReviewError as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from None
        with store.session() as session:
            return {**round_dict(session, session.get(ReviewRound, round_id)), "run": report.line()}

    # -- contact self-verification (负责人联系方式核验) -------------------------------------------------------------
    from scanner.store.models import ContactVerification
    from scanner.workflows.contacts import ROLE_LABELS, ContactVerifier, VerifyError, verification_dict
    from scanner.workflows.contacts import STATES as VERIFY_STATES

    def _verify_page(status: int, **context) -> HTMLResponse:
        from scanner.reports.jinja import environment

        values = {"provider": config.provider.name, "done": False, "fatal": False, "error": "", "who": "",
                  "deadline": "", **context}
        return HTMLResponse(environment().get_template("verify_page.html.j2").render(values), status_code=status)

    def _who(row) -> str:
        return f"{ROLE_LABELS.get(row.role, row.role)} {row.name}（{row.website_number or row.subject_number}）"

    @app.get("/verify/{token}", include_in_schema=False)
    def verify_form(token: Annotated[str, Path(max_length=120)]) -> HTMLResponse:
        """The public page a contact opens from the verification mail: no operator token."""
        from scanner.notices.compose import local_time

        try:
            row = ContactVerifier(config, store).check_token(token)
        except VerifyError as exc:
            return _verify_page(404 if "无效" in str(exc) else 410, fatal=True, error=str(exc))
        return _verify_page(200, who=_who(row), deadline=local_time(row.deadline))

    @app.post("/verify/{token}", include_in_schema=False)
    def verify_code(token: Annotated[str, Path(max_length=120)],
                    code: Annotated[str, Form(max_length=20)] = "") -> HTMLResponse:
        from scanner.notices.compose import local_time

        verifier = ContactVerifier(config, store)
        try:
            row = verifier.check_token(token)
        except VerifyError as exc:
            return _verify_page(404 if "无效" in str(exc) else 410, fatal=True, error=str(exc))
        try:
            verifier.verify(token, code)
        except VerifyError as exc:
            locked = "锁定" in str(exc)
            return _verify_page(403 if locked else 400, fatal=locked, error=str(exc), who=_who(row),
                                deadline=local_time(row.deadline))
        return _verify_page(200, done=True, who=_who(row))

    @app.get("/contacts/verifications", dependencies=auth)
    def list_verifications(
        state: Annotated[list[str], Query(max_length=10)] = [],  # noqa: B006
        subject: Annotated[str | None, Query(max_length=64)] = None,
        limit: Annotated[int, Query(ge=1, le=5000)] = 500,
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    ) -> list[dict]:
        unknown = [s for s in state if s not in VERIFY_STATES]
        if unknown:
            raise HTTPException(status_code=422, detail=f"state: unknown {unknown[0]!r}; one of {', '.join(VERIFY_STATES)}")
        statement = select(ContactVerification).order_by(ContactVerification.id)
        if state:
            statement = statement.where(ContactVerification.state.in_(state))
        if subject:
            statement = statement.where(ContactVerification.subject_number == subject)
        with store.session() as session:
            return [verification_dict(r) for r in session.scalars(statement.offset(offset).limit(limit))]

    @app.post("/contacts/verify", status_code=202, dependencies=auth)
    def send_verifications(body: VerifySendIn) -> dict:
        try:
            report = ContactVerifier(config, store).send(list(body.subjects), again=body.again, actor=body.by)
        except VerifyError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        return {"created": report.created, "skipped": report.skipped, "no_channel": report.no_channel,
                "sms_sent": report.sms_sent, "sms_rejected": report.sms_rejected, "sms_waiting": report.sms_waiting,
                "run": report.line()}

    # -- MIIT cross-check (是否备案查询) ---------------------------------------------------------------------------
    from scanner.store.models import FilingLookupAnswer
    from scanner.workflows.miit import CrossCheck, LookupError_

    @app.post("/miit/checks", dependencies=auth)
    def miit_check(body: MiitCheckIn) -> dict:
        """Ask the configured filing query service now (synchronously: use `websites` or `limit` for a few)."""
        try:
            report = CrossCheck(config, store).run(list(body.websites) or None, body.limit)
        except LookupError_ as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from None
        return {"asked": report.asked, "answers": report.by_answer, "findings": report.findings, "run": report.line()}

    @app.get("/miit/answers", dependencies=auth)
    def miit_answers(
        website: Annotated[str | None, Query(max_length=64)] = None,
        limit: Annotated[int, Query(ge=1, le=5000)] = 500,
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    ) -> list[dict]:
        statement = select(FilingLookupAnswer).order_by(FilingLookupAnswer.id.desc())
        if website:
            statement = statement.where(FilingLookupAnswer.website_number == website)
        with store.session() as session:
            return [{"website_number": a.website_number, "subject_number": a.subject_number,
                     "asked_at": shanghai_iso(a.asked_at), "day": a.day, "answer": a.answer, "reason": a.reason,
                     "record": a.record or {}} for a in session.scalars(statement.offset(offset).limit(limit))]

    @app.get("/metrics", dependencies=auth, response_class=PlainTextResponse)
    def metrics() -> PlainTextResponse:
        from scanner.serve.metrics import render

        body, content_type = render(store, service)
        return PlainTextResponse(body, media_type=content_type)

    return app


def _scan(session, scan: Scan) -> dict:
    stats = scan.stats or {}
    observed = stats.get("observed")
    if scan.state == "running" or observed is None:
        observed = session.scalar(select(func.count()).select_from(Observation).where(Observation.scan_id == scan.id))
    return {
        "id": scan.id, "state": scan.state, "selector": scan.selector, "started_at": shanghai_iso(scan.started_at),
        "finished_at": shanghai_iso(scan.finished_at),
        "progress": {"websites": stats.get("websites"), "observed": observed, "not_checked": stats.get("not_checked")},
        "findings_by_code": stats.get("findings_by_code", {}), "elapsed_s": stats.get("elapsed_s"),
        "health": stats.get("health"),
    }
