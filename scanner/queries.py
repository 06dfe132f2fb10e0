"""The one query layer for lists an operator filters: cases by state, check, province and deadline. The CLI,
the API and the console build their lists here, so a filter means the same everywhere."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select

from scanner.store.models import Case, Subject


@dataclass(frozen=True)
class CaseFilter:
    states: Sequence[str] = ()  # empty: every state
    checks: Sequence[str] = ()
    provinces: Sequence[str] = ()
    deadline_before: datetime | None = None

    def select(self, *, with_province: bool = False, by_deadline: bool = False) -> Select:
        """Cases matching the filter (rows of (Case, province) with `with_province`), by id or by deadline."""
        joined = with_province or bool(self.provinces)
        statement = select(Case, Subject.province) if with_province else select(Case)
        if joined:
            statement = statement.outerjoin(Subject, Subject.subject_number == Case.subject_number)
        if self.states:
            statement = statement.where(Case.state.in_(list(self.states)))
        if self.checks:
            statement = statement.where(Case.check.in_(list(self.checks)))
        if self.provinces:
            statement = statement.where(Subject.province.in_(list(self.provinces)))
        if self.deadline_before is not None:
            statement = statement.where(Case.deadline.is_not(None), Case.deadline <= self.deadline_before)
        if by_deadline:
            return statement.order_by(Case.deadline.is_(None), Case.deadline, Case.id)
        return statement.order_by(Case.id)
