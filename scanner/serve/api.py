"""The operator HTTP API (FastAPI). OpenAPI at /openapi.json; token auth (Bearer) when serve.token is set."""

from __future__ import annotations

import hmac
import logging
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from checks import codes
from core.config import Config
from scanner.cases import STATES, CaseBook, CaseError
from scanner.findings import as_contract
from scanner.queries import CaseFilter
from scanner.rescans import Ask, RescanError, enqueue
from scanner.rescans import as_dict as rescan_dict
from scanner.store.db import Store, shanghai_iso
from scanner.store.models import Case, CaseEvent, Finding, Observation, RescanRequest, Scan

log = logging.getLogger("beian.api")
Name = Annotated[str, Field(min_length=1, max_length=255)]
CheckCode = Literal[tuple(codes())]  # type: ignore[valid-type]
CaseState = Literal[STATES]  # type: ignore[valid-type]


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


def create_app(config: Config, store: Store, service=None) -> FastAPI:
    app = FastAPI(title="beian-scanner", version="0.1.0",
                  description="ICP 备案 compliance scanner: scans, rescans, findings and rectification cases.")  # fmt: skip

    def authorize(request: Request) -> None:
        token = config.serve.token
        if not token:
            return
        header = request.headers.get("authorization", "")
        given = header[7:] if header.lower().startswith("bearer ") else request.headers.get("x-beian-token", "")
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise HTTPException(status_code=401, detail="missing or wrong token", headers={"WWW-Authenticate": "Bearer"})

    auth = [Depends(authorize)]

    from scanner.serve.console import NeedLogin, create_console

    app.include_router(create_console(config, store))

    @app.exception_handler(NeedLogin)
    async def need_login(_request: Request, _exc: NeedLogin) -> RedirectResponse:
        return RedirectResponse("/console/login", status_code=303)

    @app.exception_handler(Exception)
    async def internal(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("API error", exc_info=exc)
        return JSONResponse({"detail": "internal error; see the server log"}, status_code=500)

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
            row = session.get(RescanRequest, rescan_id)
            if row is None:
                raise HTTPException(status_code=404, detail=f"no rescan {rescan_id}")
            return rescan_dict(row)

    @app.get("/scans", dependencies=auth)
    def list_scans(limit: Annotated[int, Query(ge=1, le=500)] = 20) -> list[dict]:
        with store.session() as session:
            return [_scan(session, s) for s in session.scalars(select(Scan).order_by(Scan.id.desc()).limit(limit))]

    @app.get("/scans/{scan_id}", dependencies=auth)
    def get_scan(scan_id: int) -> dict:
        with store.session() as session:
            scan = session.get(Scan, scan_id)
            if scan is None:
                raise HTTPException(status_code=404, detail=f"no scan {scan_id}")
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
            case = session.get(Case, case_id) if 0 < case_id < 2**63 else None  # beyond BIGINT: no such case
            if case is None:
                raise HTTPException(status_code=404, detail=f"no case {case_id}")
            events = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id))
            return {**case_row(case), "events": [
                {"at": shanghai_iso(e.at), "from": e.from_state, "to": e.to_state, "actor": e.actor, "reason": e.reason}
                for e in events]}  # fmt: skip

    @app.post("/cases/{case_id}/extend", dependencies=auth)
    def extend(case_id: int, body: ExtendIn) -> dict:
        return _act(lambda book: book.extend(case_id, body.days, body.reason, actor=body.by), case_id)

    @app.post("/cases/{case_id}/waive", dependencies=auth)
    def waive(case_id: int, body: WaiveIn) -> dict:
        return _act(lambda book: book.waive(case_id, body.reason, actor=body.by), case_id)

    def _act(action, case_id: int) -> dict:
        from scanner.reports.exports import case_row

        with store.session() as session:
            if not 0 < case_id < 2**63 or session.get(Case, case_id) is None:  # beyond BIGINT: no such case
                raise HTTPException(status_code=404, detail=f"no case {case_id}")
        try:
            return case_row(action(CaseBook(config, store)))
        except CaseError as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from None

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
    }  # fmt: skip
