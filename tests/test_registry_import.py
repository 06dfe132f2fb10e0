from __future__ import annotations

import csv
import json
import shutil

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from scanner.cli import main
from scanner.registry.importer import import_file
from scanner.registry.parse import RegistryFileError, read_registry
from scanner.store.db import Store
from scanner.store.models import (
    Contact,
    Domain,
    PreApproval,
    RegistryChange,
    RegistryImport,
    Subject,
    Website,
)


def snapshot(store: Store) -> dict:
    """Everything imported, without ids and timestamps."""
    with store.session() as s:
        subjects = {
            x.subject_number: (x.name, x.nature, x.certificate_type, x.certificate_number, x.province, x.address,
                               x.customer_email, x.removed_at is None)
            for x in s.scalars(select(Subject))
        }  # fmt: skip
        number_of = {x.id: x.subject_number for x in s.scalars(select(Subject))}
        site_of = {x.id: x.website_number for x in s.scalars(select(Website))}
        websites = {
            x.website_number: (number_of[x.subject_id], x.name, x.homepage, x.service_content, x.status,
                               x.provider_code, x.removed_at is None)
            for x in s.scalars(select(Website))
        }  # fmt: skip
        domains = sorted((site_of[d.website_id], d.name, d.position, d.removed_at is None) for d in s.scalars(select(Domain)))
        contacts = sorted(
            (number_of[c.subject_id], site_of.get(c.website_id) or "", c.role, c.name, c.mobile, c.phone, c.email)
            for c in s.scalars(select(Contact))
        )
        approvals = sorted((site_of[a.website_id], a.category, a.number) for a in s.scalars(select(PreApproval)))
    return {"subjects": subjects, "websites": websites, "domains": domains, "contacts": contacts,
            "approvals": approvals}  # fmt: skip


def csv_to_xlsx(csv_path, xlsx_path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    with open(csv_path, encoding="utf-8", newline="") as fh:
        for row in csv.reader(fh):
            sheet.append(row)
    workbook.save(xlsx_path)


def test_json_csv_xlsx_store_identical_content(tmp_path, data_dir):
    csv_to_xlsx(data_dir / "registry_small.csv", tmp_path / "registry.xlsx")
    snapshots = []
    for path in (data_dir / "registry_small.json", data_dir / "registry_small.csv", tmp_path / "registry.xlsx"):
        store = Store(f"sqlite:///{tmp_path / (path.suffix[1:] + '.db')}")
        import_file(store, path)
        snapshots.append(snapshot(store))
        store.dispose()
    assert snapshots[0]["websites"]["京ICP备10206937号-2"][3] == "医疗保健"
    assert len(snapshots[0]["subjects"]) == 3 and len(snapshots[0]["domains"]) == 6
    assert snapshots[0] == snapshots[1] == snapshots[2]


def test_gbk_csv_is_read(tmp_path, data_dir):
    text = (data_dir / "registry_small.csv").read_text(encoding="utf-8")
    path = tmp_path / "gbk.csv"
    path.write_bytes(text.encode("gbk"))
    subjects = read_registry(path)
    assert subjects[0].name == "北京示例科技有限公司"


def test_reimport_is_a_noop(store, data_dir):
    first = import_file(store, data_dir / "registry_small.json")
    assert first.changed
    before = snapshot(store)
    second = import_file(store, data_dir / "registry_small.json")
    assert not second.changed and second.import_id is None
    assert snapshot(store) == before
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(RegistryImport)) == 1


def test_removed_records_are_marked_and_history_kept(store, tmp_path, data_dir):
    import_file(store, data_dir / "registry_small.json")
    data = json.loads((data_dir / "registry_small.json").read_text(encoding="utf-8"))
    beijing = data["subjects"][0]
    beijing["websites"][0]["domains"] = ["example.cn", "example-new.cn"]  # example.com.cn dropped
    beijing["websites"][0]["name"] = "示例科技有限公司官网"
    del beijing["websites"][1]
    del data["subjects"][2]
    path = tmp_path / "second.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    result = import_file(store, path)
    assert result.counts["websites removed"] == 1
    assert result.counts["subjects removed"] == 1
    assert result.counts["domains removed"] == 1 and result.counts["domains added"] == 1
    snap = snapshot(store)
    assert snap["websites"]["京ICP备10206937号-2"][-1] is False  # kept, marked removed
    assert snap["subjects"]["沪ICP备12003456号"][-1] is False
    assert ("京ICP备10206937号-1", "example.com.cn", 1, False) in snap["domains"]
    with store.session() as s:
        change = s.scalars(
            select(RegistryChange).where(RegistryChange.number == "京ICP备10206937号-1", RegistryChange.change == "changed")
        ).one()
    assert change.before["name"] == "示例科技官网" and change.after["name"] == "示例科技有限公司官网"
    # bringing the original back restores what was removed
    result = import_file(store, data_dir / "registry_small.json")
    assert result.counts["websites restored"] == 1 and result.counts["subjects restored"] == 1
    snap = snapshot(store)
    assert snap["websites"]["京ICP备10206937号-2"][-1] is True
    assert ("京ICP备10206937号-1", "example.com.cn", 1, True) in snap["domains"]


def test_one_bad_row_reports_it_and_stores_nothing(store, tmp_path, data_dir, capsys):
    import_file(store, data_dir / "registry_small.json")
    before = snapshot(store)
    lines = (data_dir / "registry_small.csv").read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace("京ICP备10206937号-1,示例科技官网", "京ICP备10206937号-1,示例科技官网改名")
    lines[3] = lines[3].replace("xiaoming-blog.cn", "not a host!")
    lines.append(lines[3].replace("粤ICP备2021012345号-1", "粤ICP备2021012345号-9").replace("已备案", "审核中"))
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(RegistryFileError) as info:
        import_file(store, path)
    errors = info.value.errors
    assert "bad.csv:4:domains: 'not a host!' is not a hostname" in errors
    assert any(e.startswith("bad.csv:7:status:") for e in errors)
    assert snapshot(store) == before  # the renamed site in row 2 was not stored either
    code = main(["--config", _config(tmp_path, store), "registry", "import", str(path)])
    captured = capsys.readouterr()
    assert code == 2
    assert "bad.csv:4:domains:" in captured.err and "nothing was imported" in captured.err


def _config(tmp_path, store) -> str:
    path = tmp_path / "beian.toml"
    path.write_text(f'database = "{store.url}"\n', encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda d: d["subjects"][0].pop("subject_number"), "subjects[0]:subject_number: missing"),
        (lambda d: d["subjects"][1].update(nature="外星人"), "subjects[1]:nature: unknown value '外星人'"),
        (lambda d: d["subjects"][0]["websites"][1].update(status="暂停"), "subjects[0].websites[1]:status:"),
        (lambda d: d["subjects"][0]["websites"][0]["domains"].append("bad_domain..cn"),
         "subjects[0].websites[0]:domains: 'bad_domain..cn' is not a hostname"),
        (lambda d: d["subjects"][2].update(websites=d["subjects"][0]["websites"]), "appears twice"),
    ],
)  # fmt: skip
def test_json_structural_errors_name_row_and_field(tmp_path, data_dir, mutate, expected):
    data = json.loads((data_dir / "registry_small.json").read_text(encoding="utf-8"))
    mutate(data)
    path = tmp_path / "r.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(RegistryFileError) as info:
        read_registry(path)
    assert any(expected in line for line in info.value.errors), info.value.errors


def test_all_errors_listed_up_to_a_limit(tmp_path, data_dir):
    data = json.loads((data_dir / "registry_small.json").read_text(encoding="utf-8"))
    template = data["subjects"][1]
    data["subjects"] = [
        {**template, "subject_number": f"粤ICP备{i:08d}号", "nature": "???", "websites": []} for i in range(80)
    ]
    path = tmp_path / "many.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(RegistryFileError) as info:
        read_registry(path)
    assert len(info.value.errors) == 50 and info.value.truncated
    assert info.value.errors[3].startswith("many.json:subjects[3]:nature:")


def test_unknown_fields_are_kept_not_fatal(store, tmp_path, data_dir):
    data = json.loads((data_dir / "registry_small.json").read_text(encoding="utf-8"))
    data["subjects"][0]["crm_id"] = "C-1001"
    data["subjects"][0]["websites"][0]["ip"] = "203.0.113.5"
    path = tmp_path / "extra.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    import_file(store, path)
    with store.session() as s:
        subject = s.scalars(select(Subject).where(Subject.subject_number == "京ICP备10206937号")).one()
        site = s.scalars(select(Website).where(Website.website_number == "京ICP备10206937号-1")).one()
    assert subject.extra == {"crm_id": "C-1001"} and site.extra == {"ip": "203.0.113.5"}


def test_content_oddities_import_fine(store, tmp_path, data_dir):
    data = json.loads((data_dir / "registry_small.json").read_text(encoding="utf-8"))
    data["subjects"][0]["principal"]["mobile"] = "12345"
    data["subjects"][0]["certificate_number"] = "nonsense"
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    assert import_file(store, path).counts["subjects added"] == 3


def test_postgresql_path(pg_url, data_dir, tmp_path):
    store = Store(pg_url)
    try:
        first = import_file(store, data_dir / "registry_small.json")
        assert first.counts["websites added"] == 4
        assert not import_file(store, data_dir / "registry_small.csv").changed
        reference = Store(f"sqlite:///{tmp_path / 'ref.db'}")
        import_file(reference, data_dir / "registry_small.json")
        assert snapshot(store) == snapshot(reference)
        reference.dispose()
    finally:
        store.dispose()


def test_cli_import_show_stats(tmp_path, data_dir, capsys):
    config = tmp_path / "beian.toml"
    config.write_text(f'database = "sqlite:///{tmp_path / "cli.db"}"\n', encoding="utf-8")
    shutil.copy(data_dir / "registry_small.csv", tmp_path / "r.csv")
    assert main(["--config", str(config), "registry", "import", str(tmp_path / "r.csv")]) == 0
    assert "websites added 4" in capsys.readouterr().out
    assert main(["--config", str(config), "registry", "show", "粤ICP备2021012345号-2"]) == 0
    out = capsys.readouterr().out
    assert "xm-photo.top" in out and "备案中" in out
    assert main(["--config", str(config), "registry", "stats"]) == 0
    out = capsys.readouterr().out
    assert "subjects 3, websites 4" in out and "个人\t1" in out
    assert main(["--config", str(config), "registry", "show", "京ICP备99999999号"]) == 2
