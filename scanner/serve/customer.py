"""The customer self-service page (issue 23) on `beian serve`: `GET /customer/<token>` lists the link's recipient's
cases; `POST /customer/<token>/cases/<id>/rescan` is 申请复查; `GET /customer/<token>/screenshots/<id>/<viewport|footer>.jpg`
the evidence screenshots of the recipient's own websites. No operator token: the signed link is the
credential (scanner/customer_links.py). Everything a customer can reach answers a Chinese HTML page, with a 4xx
for a bad, tampered or expired link, a case that is not theirs, or a request over the rate limits.

Responses are never cached and send no Referer (the token is in the URL); the page refreshes itself while a
requested re-check is still running.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from core import clock
from core.config import Config
from scanner.customer_desk import DeskError, cases_of, request_rescan, screenshot_of
from scanner.customer_links import LinkError, check
from scanner.reports.jinja import environment
from scanner.store.db import Store

PREFIX = "/customer"
MAX_TOKEN = 120
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex",
           "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
           "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
                                      "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"}
NOT_FOUND = "没有这个页面：请使用通知邮件中的完整链接"


def in_customer(request: Request) -> bool:
    return request.url.path == PREFIX or request.url.path.startswith(PREFIX + "/")


def create_customer(config: Config, store: Store, now: Callable[[], datetime] | None = None) -> APIRouter:
    router = APIRouter(prefix=PREFIX, include_in_schema=False)
    now = now or clock.now
    env = environment()

    def render(status: int, **context) -> HTMLResponse:
        values = {"provider": config.provider.name, "error": "", "fatal": False, "recipient": "", "open": [],
                  "closed": [], "asked": None, "refresh": False, **context}
        html = env.get_template("customer_page.html.j2").render(values)
        return HTMLResponse(html, status_code=status, headers=HEADERS)

    router.error_page = lambda status, message: render(status, fatal=True, error=message)  # type: ignore[attr-defined]

    def link_of(token: str):
        if len(token) > MAX_TOKEN:
            raise LinkError("链接无效：请使用通知邮件中的完整链接", 404)
        return check(config, store, token, now())

    def listing(token: str, status: int = 200, error: str = "", asked: int | None = None) -> HTMLResponse:
        try:
            link = link_of(token)
        except LinkError as exc:
            return render(exc.status, fatal=True, error=str(exc))
        opened, closed = cases_of(store, link, now())
        pending = any(c["request"] and c["request"]["outcome"] == "pending" for c in opened)
        return render(status, recipient=link.recipient, open=opened, closed=closed, error=error, asked=asked,
                      refresh=pending, token=token)

    @router.get("/{token}")
    def page(token: str, asked: str = "") -> HTMLResponse:
        return listing(token, asked=int(asked) if asked.isdigit() and len(asked) < 19 else None)

    @router.get("/{token}/screenshots/{shot_id}/{part}.jpg")
    def screenshot(token: str, shot_id: str, part: str) -> Response:
        try:
            link = link_of(token)
        except LinkError as exc:
            return render(exc.status, fatal=True, error=str(exc))
        data = screenshot_of(store, link, int(shot_id), part) if shot_id.isdigit() and len(shot_id) < 19 else None
        if data is None:
            return render(404, fatal=True, error="没有找到这张截图")
        return Response(data, media_type="image/jpeg", headers=HEADERS)

    @router.post("/{token}/cases/{case_id}/rescan")
    def rescan(token: str, case_id: str) -> Response:
        try:
            link = link_of(token)
        except LinkError as exc:
            return render(exc.status, fatal=True, error=str(exc))
        if not case_id.isdigit() or len(case_id) > 18:
            return listing(token, 404, "没有找到这个案件")
        try:
            request_rescan(config, store, link, int(case_id), now())
        except DeskError as exc:
            return listing(token, exc.status, str(exc))
        return RedirectResponse(f"{PREFIX}/{token}?asked={int(case_id)}", status_code=303, headers=HEADERS)

    return router
