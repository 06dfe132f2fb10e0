"""Chinese working days (整改期): chinese-calendar where it has data, else weekends plus the config's table.

chinese-calendar ships the State Council's holiday arrangement (放假调休) for the years published when
the package was released. For a later year we fall back to Monday-Friday, corrected by the operator's
`deadlines.holidays` / `deadlines.workdays` tables, and report the year as uncovered so the caller can
warn: a deadline computed without the official arrangement may land on a holiday. The fallback knows
the statutory holidays on fixed solar dates (《全国年节及纪念日放假办法》: 元旦 1/1, 劳动节 5/1-5/2,
国庆节 10/1-10/3); the lunar ones (春节, 清明, 端午, 中秋) and 调休 need the operator's table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import chinese_calendar

from core.clock import SHANGHAI
from core.config import DeadlinesConfig

FIXED_HOLIDAYS = {(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)}


@dataclass
class WorkCalendar:
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    uncovered: set[int] = field(default_factory=set)  # years answered by the fallback (warn about these)

    @classmethod
    def from_config(cls, config: DeadlinesConfig) -> WorkCalendar:
        return cls(frozenset(map(date.fromisoformat, config.holidays)), frozenset(map(date.fromisoformat, config.workdays)))

    def table_covers(self, year: int) -> bool:
        return any(d.year == year for d in self.holidays | self.workdays)

    def is_workday(self, day: date) -> bool:
        if day in self.holidays:
            return False
        if day in self.workdays:
            return True
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:  # no official data for this year
            if not self.table_covers(day.year):
                self.uncovered.add(day.year)
            return day.weekday() < 5 and (day.month, day.day) not in FIXED_HOLIDAYS

    def add(self, start: date, days: int) -> date:
        """The `days`-th working day after `start` (start itself not counted)."""
        day, left = start, days
        while left > 0:
            day += timedelta(days=1)
            if self.is_workday(day):
                left -= 1
        return day

    def subtract(self, end: date, days: int) -> date:
        day, left = end, days
        while left > 0:
            day -= timedelta(days=1)
            if self.is_workday(day):
                left -= 1
        return day


def deadline_after(moment: datetime, days: int, config: DeadlinesConfig, calendar: WorkCalendar) -> datetime:
    """End of the `days`-th working day after `moment`, at `time_of_day` Asia/Shanghai (returned in UTC)."""
    local = moment.astimezone(SHANGHAI)
    hours, minutes = map(int, config.time_of_day.split(":"))
    last = calendar.add(local.date(), days)
    return datetime.combine(last, time(hours, minutes), SHANGHAI).astimezone(moment.tzinfo)


def extend_deadline(deadline: datetime, days: int, config: DeadlinesConfig, calendar: WorkCalendar) -> datetime:
    return deadline_after(deadline, days, config, calendar)


def reminder_due(deadline: datetime, days: int, calendar: WorkCalendar) -> date:
    """The local date on which the reminder goes out: `days` working days before the deadline's date."""
    return calendar.subtract(deadline.astimezone(SHANGHAI).date(), days)
