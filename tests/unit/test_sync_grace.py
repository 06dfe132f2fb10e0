"""Grace after a registry change (cases.sync_grace_days): a confirmed finding on a website whose record (or whose
subject's record) changed in the last N working days is pending, not a case; the first reconcile after the
grace opens the case. Over a SQLite store with the clock injected."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from core.clock import SHANGHAI
from core.config import load_config
from scanner.cases import CaseBook
from scanner.commands import cases_cmd
from scanner.store.db import Store
from scanner.store.models import Case, CaseEvent, Finding, RegistryChange, RegistryImport, Subject, Website

SUBJECT, WEBSITE = "京ICP备30000001号", "京ICP备30000001号-2"
KEY = f"filing.link_missing|{SUBJECT}|{WEBSITE}"
CHANGED = datetime(2026, 11, 2, 10, 0, tzinfo=SHANGHAI).astimezone(UTC)  # a Monday; stored in UTC, as the app does


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@pytest.fixture(params=["sqlite", "postgresql"])
def world(tmp_path: Path, request):
    url = f"sqlite:///{tmp_path / 'beian.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")

    def make(grace_days: int | None = None, kind: str = "website", change: str = "changed"):
        path = tmp_path / "beian.toml"
        extra = "" if grace_days is None else f"[cases]\nsync_grace_days = {grace_days}\n"
        path.write_text(f'database = "{url}"\n{extra}', encoding="utf-8")
        config = load_config(path)
        store = Store(config.database)
        with store.transaction() as session:
            subject = Subject(subject_number=SUBJECT, name="北京甲信息技术有限公司", province="北京市",
                              customer_email="ops@jia.example.cn", fingerprint="s1", created_at=CHANGED,
                              updated_at=CHANGED)
            session.add(subject)
            session.flush()
            session.add(Website(subject_id=subject.id, website_number=WEBSITE, name="甲公司产品站", fingerprint="w1",
                                created_at=CHANGED, updated_at=CHANGED))
            imported = RegistryImport(source="registry.json", sha256="0" * 64, imported_at=CHANGED, counts={})
            session.add(imported)
            session.flush()
            session.add(RegistryChange(import_id=imported.id, kind=kind, change=change,
                                       number=WEBSITE if kind == "website" else SUBJECT, before={}, after={}))
            session.add(Finding(key=f"{KEY}|nolink-a.cn", check="filing.link_missing", severity="violation",
                                subject_number=SUBJECT, website_number=WEBSITE, domain="nolink-a.cn",
                                summary="备案号未链接", evidence={}, first_seen=CHANGED, last_seen=CHANGED, seen_count=1))
        return config, store

    stores = []

    def tracked(*args, **kwargs):
        config, store = make(*args, **kwargs)
        stores.append(store)
        return config, store

    yield tracked
    for store in stores:
        store.dispose()


def cases_of(store: Store) -> list[Case]:
    with store.session() as session:
        return list(session.scalars(select(Case)))


def test_finding_in_grace_is_pending_then_opens_after_two_working_days(world):
    config, store = world()
    assert config.cases.sync_grace_days == 2, "the default is 2 working days"
    report = CaseBook(config, store, now=at("2026-11-03T10:00")).reconcile()
    assert report.pending == 1 and report.opened == 0 and cases_of(store) == []
    assert "1 pending" in report.line()
    (row,) = CaseBook(config, store, now=at("2026-11-03T10:00")).pending()
    assert (row["check"], row["website_number"], row["changed"]) == ("filing.link_missing", WEBSITE, "website")
    assert row["until"] == "2026-11-04 10:00"

    report = CaseBook(config, store, now=at("2026-11-04T09:59")).reconcile()
    assert report.pending == 1 and cases_of(store) == [], "still inside the grace a minute before it ends"

    report = CaseBook(config, store, now=at("2026-11-04T10:01")).reconcile()
    assert report.opened == 1 and report.pending == 0
    (case,) = cases_of(store)
    assert case.website_number == WEBSITE and case.state == "notified"
    assert CaseBook(config, store, now=at("2026-11-04T10:01")).pending() == []
    with store.session() as session:
        reasons = [e.reason for e in session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id))]
    assert reasons[0] == "finding confirmed"


def test_grace_counts_working_days_not_calendar_days(world):
    config, store = world()
    with store.transaction() as session:  # move the change to a Friday: the grace runs over the weekend
        session.execute(RegistryImport.__table__.update().values(imported_at=at("2026-11-06T16:00").astimezone(UTC)))
    assert CaseBook(config, store, now=at("2026-11-09T18:00")).reconcile().pending == 1  # Monday: 1 working day
    assert CaseBook(config, store, now=at("2026-11-10T15:59")).reconcile().opened == 0
    assert CaseBook(config, store, now=at("2026-11-10T16:00")).reconcile().opened == 1  # Tuesday 16:00


def test_a_subject_change_holds_its_websites_findings(world):
    config, store = world(kind="subject")
    assert CaseBook(config, store, now=at("2026-11-02T12:00")).reconcile().pending == 1
    assert cases_of(store) == []


def test_an_added_record_or_no_grace_opens_at_once(world, tmp_path):
    config, store = world(change="added")
    assert CaseBook(config, store, now=at("2026-11-02T12:00")).reconcile().opened == 1


def test_grace_zero_turns_it_off(world):
    config, store = world(grace_days=0)
    assert CaseBook(config, store, now=at("2026-11-02T12:00")).reconcile().opened == 1


def test_a_change_stamped_after_now_grants_no_grace(world):
    config, store = world()
    assert CaseBook(config, store, now=at("2026-11-02T09:00")).reconcile().opened == 1


def test_cases_pending_lists_them(world, capsys, monkeypatch):
    config, store = world()
    monkeypatch.setenv("BEIAN_NOW", "2026-11-03T10:00:00+08:00")
    args = type("Args", (), {"escalated": False, "state": [], "all": False, "check": [], "format": "table",
                             "pending": True})()
    assert cases_cmd.cmd_list(args, config) == 0
    out = capsys.readouterr().out
    assert WEBSITE in out and "2026-11-04 10:00" in out and "1 pending" in out
    args.pending = False
    assert cases_cmd.cmd_list(args, config) == 0
    assert "0 cases; 1 pending after a registry change" in capsys.readouterr().out


def test_a_critical_finding_never_waits(world):
    config, store = world()
    with store.transaction() as session:
        session.execute(Finding.__table__.update().values(
            check="content.prohibited", severity="critical", key=f"content.prohibited|{SUBJECT}|{WEBSITE}|nolink-a.cn"))
    report = CaseBook(config, store, now=at("2026-11-03T10:00")).reconcile()
    assert report.opened == 1 and report.pending == 0
    assert [c.state for c in cases_of(store)] == ["escalated"]


@pytest.mark.parametrize("value", ["-1", '"2"', "1.5"])
def test_a_bad_grace_is_a_one_line_config_error_naming_the_key(tmp_path, value):
    from core.config import ConfigError

    path = tmp_path / "bad.toml"
    path.write_text(f"[cases]\nsync_grace_days = {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="sync_grace_days") as raised:
        load_config(path)
    assert "\n" not in str(raised.value)
