"""The time cases and notices run on. `BEIAN_NOW` (ISO 8601) pins it, for tests and for replaying a day."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from core.config import ConfigError

SHANGHAI = ZoneInfo("Asia/Shanghai")


class ClockError(ConfigError):
    pass


def now() -> datetime:
    pinned = os.environ.get("BEIAN_NOW", "").strip()
    if not pinned:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(pinned)
    except ValueError:
        raise ClockError(f"BEIAN_NOW: {pinned!r} is not an ISO 8601 timestamp") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SHANGHAI)
    return moment.astimezone(UTC)
