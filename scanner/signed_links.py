"""Signed public links: `<id>.<expiry>.<signature>` tokens for pages a customer or contact opens without an
operator token (contact self-verification at /verify/<token>, customer self-service at /customer/<token>).

The signature is an HMAC-SHA256 (truncated to 18 bytes, base64url) over the purpose, the row id, the expiry
(Unix seconds) and whatever else binds the link (a per-row random nonce, the recipient), so a token can be
neither forged nor moved to another row, and changing its expiry breaks it. Checking compares in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

MIN_SECRET = 16


def mac(secret: str, text: str) -> bytes:
    return hmac.new(secret.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).digest()


def sign(secret: str, purpose: str, row_id: int, expiry: int, *bound: str) -> str:
    """The token of one row: `<row_id>.<expiry>.<signature>`."""
    text = "|".join((purpose, str(row_id), str(expiry), *bound))
    signature = base64.urlsafe_b64encode(mac(secret, text)[:18]).decode().rstrip("=")
    return f"{row_id}.{expiry}.{signature}"


def parse(token: str) -> tuple[int, int, str] | None:
    """(row_id, expiry, signature) of a well-formed token, else None; ids beyond BIGINT are not well-formed."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit() or len(parts[0]) > 18 or len(parts[1]) > 12:
        return None
    row_id = int(parts[0])
    if not 0 < row_id < 2**63:
        return None
    return row_id, int(parts[1]), parts[2]


def same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))
