"""A sandbox filing query service (what `HttpFilingLookup` asks): `GET /query?type=website|subject|domain&value=…`.

Records come from `records` (website number -> record, as MIIT would show it); a test sets them, and per value
a `behaviour`: "not_found" (an explicit no record), "empty" (an empty body, as rate-limited public tools answer),
"rate_limited" (HTTP 429), "captcha" (a captcha demand), "error" (HTTP 500). A number without a record and
without a behaviour is not found. Every query is kept in `queries`.
"""

from __future__ import annotations

import json
import threading
from urllib.parse import parse_qs

from scanner.sandbox.http_server import Request, Response

_JSON = [("Content-Type", "application/json")]
TOKEN = "sandbox-lookup-token"


class LookupService:
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.records: dict[str, dict] = {}
        self.behaviour: dict[str, str] = {}
        self.queries: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        if request.path != "/query":
            return _answer(404, {"status": "error", "error": "only /query"})
        if request.headers.get("authorization", "") != f"Bearer {self.token}":
            return _answer(401, {"status": "error", "error": "bad token"})
        params = parse_qs(request.target.partition("?")[2])
        kind, value = (params.get("type") or [""])[0], (params.get("value") or [""])[0]
        with self.lock:
            self.queries.append((kind, value))
            behaviour = self.behaviour.get(value, "")
            if kind == "website":
                found = [self.records[value]] if value in self.records else []
            elif kind == "subject":
                found = [r for r in self.records.values() if r.get("subject_number") == value]
            elif kind == "domain":
                found = [r for r in self.records.values() if value in (r.get("domains") or [])]
            else:
                return _answer(400, {"status": "error", "error": "type is website, subject or domain"})
        if behaviour == "empty":
            return Response(200, list(_JSON), b"")
        if behaviour == "rate_limited":
            return _answer(429, {"status": "rate_limited"})
        if behaviour == "captcha":
            return _answer(200, {"status": "captcha", "captcha_url": "/captcha.png"})
        if behaviour == "error":
            return _answer(500, {"status": "error"})
        if behaviour == "not_found" or not found:
            return _answer(200, {"status": "not_found"})
        return _answer(200, {"status": "found", "records": found})


def _answer(status: int, body: dict) -> Response:
    return Response(status, list(_JSON), json.dumps(body, ensure_ascii=False).encode("utf-8"))
