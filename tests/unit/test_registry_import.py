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
        }
        number_of = {x.id: x.subject_number for x in s.scalars(select(Subject))}
        site_of = {x.id: x.website_number for x in s.scalars(select(Website))}
        websites = {
            x.website_number: (number_of[x.subject_id], x.name, x.homepage, x.service_content, x.status,
                               x.provider_code, x.removed_at is None)
            for x in s.scalars(select(Website))
        }
        domains = sorted((site_of[d.website_id], d.name, d.position, d.removed_at is None) for d in s.scalars(select(Domain)))
        contacts = sorted(
            (number_of[c.subject_id], site_of.get(c.website_id) or "", c.role, c.name, c.mobile, c.phone, c.email)
            for c in s.scalars(select(Contact))
        )
        approvals = sorted((site_of[a.website_id], a.category, a.number) for a in s.scalars(select(PreApproval)))
    return {"subjects": subjects, "websites": websites, "domains": domains, "contacts": contacts,
            "approvals": approvals}


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
        (lambda d: d["subjects"][2].update(websites=d["subjects"][0]["websites"]),
         "r.json:subjects[2].websites[0]:website_number: '京ICP备10206937号-1' appears twice in this file "
         "(also subjects[0].websites[0])"),
        (lambda d: [s.pop("subject_number") for s in d["subjects"][:2]], "subjects[1]:subject_number: missing"),
    ],
)
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


# --- hardening: every bad file is a row-precise error, never an internal error, and stores nothing ------


def _import_cli(tmp_path, store, path, *extra, capsys) -> tuple[int, str]:
    code = main(["--config", _config(tmp_path, store), "registry", "import", str(path), *extra])
    return code, capsys.readouterr().err


def _write_json(tmp_path, data, name="r.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def _small(data_dir) -> dict:
    return json.loads((data_dir / "registry_small.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("value", [5, 1.5, True, {"a": 1}], ids=["int", "float", "bool", "object"])
@pytest.mark.parametrize(
    "where, field, row",
    [("site", "domains", "subjects[0].websites[0]"), ("site", "pre_approvals", "subjects[0].websites[0]"),
     ("subject", "websites", "subjects[0]"), ("subject", "principal", "subjects[0]"),
     ("site", "leader", "subjects[0].websites[0]"), ("subject", "name", "subjects[0]")],
)
def test_json_field_of_the_wrong_type_is_a_row_error(tmp_path, store, data_dir, capsys, value, where, field, row):
    if field in ("principal", "leader") and isinstance(value, dict):
        value = ["not", "an", "object"]
    if field == "name" and type(value) in (int, float):
        value = [value]  # a number is fine as text
    data = _small(data_dir)
    target = data["subjects"][0] if where == "subject" else data["subjects"][0]["websites"][0]
    target[field] = value
    code, err = _import_cli(tmp_path, store, _write_json(tmp_path, data), capsys=capsys)
    assert code == 2 and "internal error" not in err, err
    assert f"r.json:{row}:{field}: expected" in err, err
    assert snapshot(store)["subjects"] == {}


@pytest.mark.parametrize(
    "path",
    [("name",), ("address",), ("principal", "name"), ("websites", 0, "name"), ("websites", 0, "domains", 0),
     ("websites", 0, "pre_approvals", 0, "number"), ("crm_note",), ("websites", 0, "tags", 1)],
)
@pytest.mark.parametrize("bad", ["\ud800", "a\udfffb", "nul\x00here"], ids=["surrogate", "low-surrogate", "nul"])
def test_unstorable_text_is_a_row_error_not_a_database_failure(tmp_path, store, data_dir, capsys, path, bad):
    import_file(store, data_dir / "registry_small.json")
    before = snapshot(store)
    data = _small(data_dir)
    data["subjects"][0]["websites"][0]["tags"] = ["ok", "ok"]
    data["subjects"][0]["websites"][0]["pre_approvals"] = [{"category": "新闻", "number": "1"}]
    target = data["subjects"][0]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = bad
    file = tmp_path / "r.json"
    file.write_text(json.dumps(data), encoding="utf-8")  # ensure_ascii: "\ud800" is valid JSON text
    code, err = _import_cli(tmp_path, store, file, capsys=capsys)
    assert code == 2 and "internal error" not in err, err
    assert err.startswith("r.json:subjects[0]"), err
    assert snapshot(store) == before


def test_deeply_nested_json_is_one_line_error(tmp_path, store, capsys):
    deep = tmp_path / "deep.json"
    deep.write_text('{"subjects": [' + "[" * 100_000 + "]" * 100_000 + "]}", encoding="utf-8")
    code, err = _import_cli(tmp_path, store, deep, capsys=capsys)
    assert code == 2 and err.splitlines()[0] == "deep.json:1:-: JSON nested too deeply to read", err
    kept = tmp_path / "kept.json"  # deep inside an unknown field that json.loads can still read
    kept.write_text('{"subjects": [{"subject_number": "京ICP备1号", "nature": "企业", "x": '
                    + "[" * 500 + "]" * 500 + "}]}", encoding="utf-8")
    code, err = _import_cli(tmp_path, store, kept, capsys=capsys)
    assert code == 2 and "kept.json:subjects[0]:x: nested deeper than 32 levels" in err, err


def test_values_longer_than_the_store_holds_are_row_errors(tmp_path, store, data_dir, capsys):
    data = _small(data_dir)
    data["subjects"][0]["certificate_number"] = "9" * 65
    data["subjects"][1]["principal"]["mobile"] = "1" * 70
    code, err = _import_cli(tmp_path, store, _write_json(tmp_path, data), capsys=capsys)
    assert code == 2, err
    assert "r.json:subjects[0]:certificate_number: 65 characters, at most 64 can be stored" in err
    assert "r.json:subjects[1]:principal.mobile: 70 characters" in err


def _xlsx_with_sheet_xml(tmp_path, edit):
    import zipfile

    plain = tmp_path / "plain.xlsx"
    csv_to_xlsx(DATA_CSV, plain)
    path = tmp_path / "bad.xlsx"
    with zipfile.ZipFile(plain) as zin, zipfile.ZipFile(path, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = edit(data.decode("utf-8")).encode("utf-8")
            zout.writestr(item, data)
    return path


def _doctype(doctype):
    return lambda text: text.replace("<worksheet", '<?xml version="1.0"?>' + doctype + "<worksheet", 1).replace(
        "<sheetData>", "<sheetData>&e;", 1
    )


@pytest.mark.parametrize(
    "edit",
    [_doctype('<!DOCTYPE worksheet [<!ENTITY e "x">]>'),
     _doctype('<!DOCTYPE worksheet [<!ENTITY e SYSTEM "file:///etc/passwd">]>'),
     lambda text: text.replace("</row>", "</row><row r=", 1),  # broken XML met while reading rows
     lambda text: text[: len(text) // 2]],
    ids=["entity", "external-entity", "broken-row", "truncated"],
)
def test_unreadable_xlsx_is_one_line_error(tmp_path, store, capsys, edit):
    path = _xlsx_with_sheet_xml(tmp_path, edit)
    code, err = _import_cli(tmp_path, store, path, capsys=capsys)
    assert code == 2 and "internal error" not in err, err
    lines = err.splitlines()
    assert len(lines) == 2 and lines[0].startswith("bad.xlsx:") and "not a readable .xlsx workbook (" in lines[0], err
    assert lines[1].startswith("beian: error:") and "root:" not in err
    assert snapshot(store)["subjects"] == {}


DATA_CSV = __import__("pathlib").Path(__file__).resolve().parents[1] / "data" / "registry_small.csv"


def test_csv_rows_wider_than_the_header_are_structural_errors(tmp_path, store, data_dir, capsys):
    import_file(store, data_dir / "registry_small.json")
    before = snapshot(store)
    lines = DATA_CSV.read_text(encoding="utf-8").splitlines()
    header = ",".join(lines[0].split(",")[:5])  # a header cut to 5 columns, rows still 22 wide
    path = tmp_path / "narrow.csv"
    path.write_text("\n".join([header, *lines[1:]]) + "\n", encoding="utf-8")
    code, err = _import_cli(tmp_path, store, path, "--allow-mass-removal", capsys=capsys)
    assert code == 2, err
    assert "narrow.csv:2:-: 22 cells but the header has 5 columns" in err
    assert snapshot(store) == before  # before the fix: exit 0 and every website marked removed
    short = tmp_path / "short.csv"  # and a row shorter than the header
    short.write_text("\n".join([lines[0], lines[1], ",".join(lines[2].split(",")[:10])]) + "\n", encoding="utf-8")
    code, err = _import_cli(tmp_path, store, short, "--allow-mass-removal", capsys=capsys)
    assert code == 2 and "short.csv:3:-: 10 cells but the header has 22 columns" in err, err
    trailing = tmp_path / "trailing.csv"  # empty cells past the header (a trailing comma) are fine
    trailing.write_text("\n".join([lines[0], *(line + ",," for line in lines[1:])]) + "\n", encoding="utf-8")
    code, err = _import_cli(tmp_path, store, trailing, capsys=capsys)
    assert code == 0, err


def test_csv_header_naming_one_column_twice_is_an_error(tmp_path, store, capsys):
    path = tmp_path / "twice.csv"
    path.write_text("主体备案号,单位性质,域名,网站域名\n京ICP备1号,企业,a.cn,b.cn\n", encoding="utf-8")
    code, err = _import_cli(tmp_path, store, path, capsys=capsys)
    assert code == 2 and "twice.csv:1:domains: column 4 ('网站域名') repeats column 3" in err, err


def test_mass_removal_is_refused_unless_allowed(tmp_path, store, data_dir, capsys):
    import_file(store, data_dir / "registry_small.json")
    before = snapshot(store)
    data = _small(data_dir)
    del data["subjects"][0]["websites"][1]  # 1 of 4 websites (25 %)
    del data["subjects"][2]  # and 1 of 3 subjects (33 %)
    path = _write_json(tmp_path, data, "cut.json")
    code, err = _import_cli(tmp_path, store, path, capsys=capsys)
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "would mark 1 of 4 stored websites removed (25%), more than registry.max_removal_share 20%" in err, err
    assert "--allow-mass-removal" in err and snapshot(store) == before
    code, err = _import_cli(tmp_path, store, path, "--allow-mass-removal", capsys=capsys)
    assert code == 0, err
    assert snapshot(store)["websites"]["京ICP备10206937号-2"][-1] is False
    assert main(["--config", _config(tmp_path, store), "registry", "import", str(data_dir / "registry_small.json")]) == 0
    capsys.readouterr()  # restored; now a larger configured share lets the same file through
    (tmp_path / "beian.toml").write_text(f'database = "{store.url}"\n[registry]\nmax_removal_share = 0.4\n')
    assert main(["--config", str(tmp_path / "beian.toml"), "registry", "import", str(path)]) == 0
    assert snapshot(store)["subjects"]["沪ICP备12003456号"][-1] is False


def test_removal_share_config_is_validated():
    from core.config import ConfigError, parse_config

    assert parse_config({}).registry.max_removal_share == 0.2
    assert parse_config({"registry": {"max_removal_share": 1}}).registry.max_removal_share == 1.0
    for bad in (1.5, -0.1, "20%", True):
        with pytest.raises(ConfigError, match="registry.max_removal_share"):
            parse_config({"registry": {"max_removal_share": bad}})


def test_csv_website_number_twice_names_both_rows(tmp_path):
    lines = DATA_CSV.read_text(encoding="utf-8").splitlines()
    path = tmp_path / "twice.csv"
    path.write_text("\n".join([*lines, lines[1]]) + "\n", encoding="utf-8")
    with pytest.raises(RegistryFileError) as info:
        read_registry(path)
    assert info.value.errors == [
        "twice.csv:7:website_number: '京ICP备10206937号-1' appears twice in this file (also row 2)"
    ]


def test_header_cells_with_line_breaks_keep_errors_on_one_line(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text('主体备案号,单位性质,"a\nb:c","a\nb:c"\n京ICP备1号,企业,x,y\n', encoding="utf-8")
    with pytest.raises(RegistryFileError) as info:
        read_registry(path)
    assert info.value.errors == ["odd.csv:1:'a\\nb:c': column 4 ('a\\nb:c') repeats column 3"]
