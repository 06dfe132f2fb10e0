"""The registry's optional 审核通过日期 per website (JSON approved_at, CSV/XLSX 审核通过日期 or 备案通过时间): stored,
kept in the change history, handed to the scan; a bad date is a one-line error naming row and field."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from core.config import Config
from scanner.registry.importer import import_file
from scanner.registry.parse import RegistryFileError, read_registry
from scanner.store.models import RegistryChange, Website
from scanner.targets import Selector, iter_batches

SITE = "京ICP备10206937号-1"


def _approved(store) -> dict[str, str]:
    with store.session() as s:
        return {w.website_number: w.approved_at for w in s.scalars(select(Website))}


def test_json_approved_at_is_stored_kept_in_history_and_reaches_the_scan(store, tmp_path, data_dir):
    data = json.loads((data_dir / "registry_small.json").read_text(encoding="utf-8"))
    data["subjects"][0]["websites"][0]["approved_at"] = "2019/5/1"
    path = tmp_path / "r.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    import_file(store, path)
    assert _approved(store)[SITE] == "2019-05-01"
    records = {r.website_number: r for batch in iter_batches(store, Config(), Selector(), -1) for r in batch}
    assert records[SITE].approved_at == "2019-05-01" and records[SITE].first_seen
    data["subjects"][0]["websites"][0]["approved_at"] = "2020-06-30"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    import_file(store, path)
    with store.session() as s:
        change = s.scalars(select(RegistryChange).where(RegistryChange.number == SITE, RegistryChange.change == "changed")).one()
    assert change.before["approved_at"] == "2019-05-01" and change.after["approved_at"] == "2020-06-30"


def test_records_without_it_import_unchanged(store, data_dir):
    import_file(store, data_dir / "registry_small.json")
    assert set(_approved(store).values()) == {""}
    assert not import_file(store, data_dir / "registry_small.json").changed


def test_csv_and_xlsx_headers(store, tmp_path, data_dir):
    lines = (data_dir / "registry_small.csv").read_text(encoding="utf-8").splitlines()
    lines[0] += ",审核通过日期"
    lines[1] += ",2019年5月1日"
    lines[2:] = [line + "," for line in lines[2:]]
    path = tmp_path / "r.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    import_file(store, path)
    assert _approved(store)[SITE] == "2019-05-01"
    workbook = Workbook()
    sheet = workbook.active
    rows = [line.split(",") for line in lines]
    rows[0][-1] = "备案通过时间"
    rows[1][-1] = dt.datetime(2021, 3, 4, 9, 30)  # a date cell
    for row in rows:
        sheet.append([cell if cell != "" else None for cell in row])
    xlsx = tmp_path / "r.xlsx"
    workbook.save(xlsx)
    import_file(store, xlsx)
    assert _approved(store)[SITE] == "2021-03-04"


@pytest.mark.parametrize("value", ["2019-13-01", "去年", "05/01/2019"])
def test_a_bad_date_names_row_and_field(tmp_path, data_dir, value):
    data = json.loads((data_dir / "registry_small.json").read_text(encoding="utf-8"))
    data["subjects"][0]["websites"][1]["approved_at"] = value
    path = tmp_path / "r.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(RegistryFileError) as info:
        read_registry(path)
    assert f"r.json:subjects[0].websites[1]:approved_at: {value!r} is not a date (YYYY-MM-DD)" in info.value.errors
