"""The operator's overview pages of the console: the dashboard (/console/), the website search and a website's
whole story (/console/websites/<number>), and bulk actions on a filtered case list (extend, waive with one
reason, rescan), each applied and audited per case through the same CaseBook/rescan actions as a single case.

Added to the console's router by `add_ops_pages`, with the console's own page rendering, login and CSRF checks
(`OpsKit`), so the token, session and origin rules are the console's and nothing here re-implements them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from urllib.parse import parse_qsl, quote, urlencode

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from core.config import Config
from scanner.cases import ACTIVE, CaseBook, CaseError
from scanner.reports.scan_report import trend, trend_chart
from scanner.rescans import Ask, RescanError, enqueue
from scanner.serve.ops_queries import dashboard
from scanner.store.db import Store
from scanner.store.models import Case, CaseEvent
from scanner.website_story import NotFound, search, story

BULK_ACTIONS = {"extend": "延期", "waive": "误报豁免", "rescan": "重新检查"}
MAX_BULK = 500  # the largest page of the case list
BULK_ACTOR = "console（批量）"
FILTER_KEYS = ("state", "check", "province", "deadline_before", "escalated", "page", "size")


@dataclass
class OpsKit:
    page: Callable[..., HTMLResponse]
    check_login: Callable[[Request], None]
    check_post: Callable[[Request, str], None]
    now: Callable[[], datetime]


def cases_link(query: str) -> str:
    """Back to the case list with the filters it was posted from (only the list's own keys survive)."""
    kept = [(k, v) for k, v in parse_qsl(query.lstrip("?"), keep_blank_values=False) if k in FILTER_KEYS]
    return "/console/cases" + (f"?{urlencode(kept)}" if kept else "")


def add_ops_pages(router: APIRouter, config: Config, store: Store, kit: OpsKit) -> None:
    @router.get("")
    @router.get("/")
    def home(request: Request) -> HTMLResponse:
        kit.check_login(request)
        now = kit.now()
        with store.session() as session:
            data = dashboard(session, now)
            points = trend(session, scans=20)
        pending = CaseBook(config, store, now=now).pending()
        return kit.page("dashboard", request, d=data, pending=pending[:50], pending_total=len(pending),
                        grace_days=config.cases.sync_grace_days, chart=trend_chart(points) if points else "",
                        q="", active_states=ACTIVE)

    @router.get("/websites")
    def websites(request: Request, q: str = "") -> HTMLResponse:
        kit.check_login(request)
        if len(q) > 200:
            raise HTTPException(422, "搜索内容过长（最多 200 个字符）")
        with store.session() as session:
            rows = search(session, q) if q.strip() else []
        return kit.page("websites", request, rows=rows, q=q)

    @router.get("/websites/{number}")
    def website_page(request: Request, number: str) -> HTMLResponse:
        kit.check_login(request)
        if len(number) > 64:
            raise HTTPException(404, "没有这个网站备案号")
        with store.session() as session:
            try:
                data = story(session, number)
            except NotFound:
                raise HTTPException(404, f"没有备案号为 {number} 的网站（可在网站搜索中按域名、主体名称或客户邮箱查找）") from None
        return kit.page("website", request, s=data, q="", active_states=ACTIVE)

    @router.post("/cases/bulk")
    def cases_bulk(request: Request, action: Annotated[str, Form(max_length=16)],
                   ids: Annotated[list[int], Form()] = [],  # noqa: B006 - FastAPI's form default
                   reason: Annotated[str, Form(max_length=1000)] = "", days: Annotated[int, Form(ge=1, le=60)] = 5,
                   back: Annotated[str, Form(max_length=2000)] = "",
                   csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
        kit.check_post(request, csrf)
        target = cases_link(back)

        def done(msg: str) -> RedirectResponse:
            return RedirectResponse(target + ("&" if "?" in target else "?") + f"msg={quote(msg)}", status_code=303)

        if action not in BULK_ACTIONS:
            raise HTTPException(422, f"没有“{action[:20]}”这种批量操作")
        chosen = sorted({i for i in ids if 0 < i <= 2**63 - 1})
        if not chosen:
            return done("请先勾选案件")
        if len(chosen) > MAX_BULK:
            raise HTTPException(422, f"一次最多处理 {MAX_BULK} 个案件")
        if action in ("extend", "waive") and not reason.strip():
            return done(f"未执行{BULK_ACTIONS[action]}：请填写原因（记入每个案件的处理记录）")
        with store.session() as session:
            cases = list(session.scalars(select(Case).where(Case.id.in_(chosen)).order_by(Case.id)))
        if action == "rescan":
            return done(_bulk_rescan(store, cases, kit.now()))
        book = CaseBook(config, store)
        ok, failed = 0, []
        for case in cases:
            try:
                if action == "extend":
                    book.extend(case.id, days, reason.strip(), actor=BULK_ACTOR)
                else:
                    book.waive(case.id, reason.strip(), actor=BULK_ACTOR)
                ok += 1
            except CaseError:
                failed.append(case.id)
        missing = len(chosen) - len(cases)
        text = (f"已延期 {ok} 个案件（{days} 个工作日）" if action == "extend" else f"已按误报豁免 {ok} 个案件")
        if failed:
            text += f"；{len(failed)} 个案件状态不允许此操作（如 #{failed[0]}）"
        if missing:
            text += f"；{missing} 个编号不存在"
        return done(text)


def _bulk_rescan(store: Store, cases: list[Case], now: datetime) -> str:
    """One rescan of every chosen case's website (or subject), and a line in each case's audit trail."""
    active = [c for c in cases if c.state in ACTIVE]
    if not active:
        return "未重新检查：勾选的案件均已结案"
    ask = Ask(websites=sorted({c.website_number for c in active if c.website_number}),
              subjects=sorted({c.subject_number for c in active if not c.website_number}))
    try:
        row, created = enqueue(store, ask, kind="operator", by=BULK_ACTOR)
    except RescanError as exc:
        return f"无法重新检查：{exc}"
    with store.transaction() as session:
        for case in active:
            session.add(CaseEvent(case_id=case.id, at=now, from_state=case.state, to_state=case.state, actor=BULK_ACTOR,
                                  reason="rescan queued", detail={"rescan_id": row.id}))
    return (f"已将 {len(active)} 个案件的网站加入重新检查 #{row.id}" if created
            else f"{len(active)} 个案件的网站已在重新检查 #{row.id} 的队列中")
