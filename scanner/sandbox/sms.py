"""A sandbox SMS gateway: the webhook the contact verification posts to, recording every message.

`POST /sms` with `Authorization: Bearer <token>` and `{"to": "13800138000", "text": "…"}` answers
200 `{"id": "sms-1", "status": "accepted"}`, or 422 `{"status": "rejected", "error": "…"}` for a number that is
not an 11-digit mainland mobile or that a test put in `reject` (a carrier refusing the number), 401 without the
token, 503 while `down` is set (the gateway is out: try again later).
"""

from __future__ import annotations

import json
import re
import threading

from scanner.sandbox.http_server import Request, Response

_JSON = [("Content-Type", "application/json")]
TOKEN = "sandbox-sms-token"


class SmsGateway:
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.messages: list[dict] = []  # accepted: {"id", "to", "text"}
        self.refused: list[dict] = []
        self.reject: set[str] = set()
        self.down = False
        self.lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        if request.method != "POST" or request.path != "/sms":
            return _answer(404, {"status": "error", "error": "only POST /sms"})
        if request.headers.get("authorization", "") != f"Bearer {self.token}":
            return _answer(401, {"status": "error", "error": "bad token"})
        if self.down:
            return _answer(503, {"status": "error", "error": "sandbox gateway down"})
        try:
            data = json.loads(request.body.decode("utf-8"))
            to, text = str(data["to"]), str(data["text"])
        except (ValueError, KeyError, TypeError):
            return _answer(400, {"status": "error", "error": "expected {\"to\": …, \"text\": …}"})
        with self.lock:
            if not re.fullmatch(r"1\d{10}", to) or to in self.reject:
                self.refused.append({"to": to, "text": text})
                return _answer(422, {"status": "rejected", "error": f"carrier rejected {to}: 空号或停机"})
            message = {"id": f"sms-{len(self.messages) + 1}", "to": to, "text": text}
            self.messages.append(message)
        return _answer(200, {"id": message["id"], "status": "accepted"})


def _answer(status: int, body: dict) -> Response:
    return Response(status, list(_JSON), json.dumps(body, ensure_ascii=False).encode("utf-8"))
