"""Property-based fuzzing of `beian registry import` for JSON, CSV and XLSX.

Whatever the file holds, the command either imports it (exit 0, and importing it again changes nothing)
or exits 2 with `file:row:field: message` lines (or the one-line mass-removal refusal) and leaves the
stored registry exactly as it was. Never an internal error.

`make test` runs a bounded, derandomized number of examples per format (no luck involved); a longer,
randomized run: BEIAN_FUZZ_EXAMPLES=2000 .venv/bin/python -m pytest tests/test_registry_fuzz.py
"""

from __future__ import annotations

import contextlib
import copy
import csv
import io
import json
import os
import re
import shutil
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from scanner.cli import main
from scanner.registry.importer import import_file
from scanner.registry.parse import COLUMNS
from scanner.store.db import Store
from scanner.store.models import RegistryChange, RegistryImport
from tests.unit.test_registry_import import snapshot

DATA = Path(__file__).resolve().parents[1] / "data"
LONG_RUN = "BEIAN_FUZZ_EXAMPLES" in os.environ
EXAMPLES = int(os.environ.get("BEIAN_FUZZ_EXAMPLES", "70"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not LONG_RUN,  # the suite's run is the same every time; the long run explores
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)

SMALL = json.loads((DATA / "registry_small.json").read_text(encoding="utf-8"))
CSV_LINES = list(csv.reader(io.StringIO((DATA / "registry_small.csv").read_text(encoding="utf-8"))))


# --- the store: one baseline imported once, copied for every example ----------------------------------


@pytest.fixture(scope="module")
def baseline():
    folder = Path(tempfile.mkdtemp(prefix="beian-fuzz-"))
    store = Store(f"sqlite:///{folder / 'baseline.db'}")
    import_file(store, DATA / "registry_small.json")
    state = _state(store)
    store.dispose()
    yield folder / "baseline.db", state
    shutil.rmtree(folder, ignore_errors=True)


def _state(store: Store) -> dict:
    with store.session() as s:
        imports = s.scalar(select(func.count()).select_from(RegistryImport))
        changes = s.scalar(select(func.count()).select_from(RegistryChange))
    return {**snapshot(store), "imports": imports, "changes": changes}


_ERROR_LINE = re.compile(r"^(?P<file>[^:\n]+):(?P<row>[^\n]+?):(?P<field>[^\n]*?): \S")


def _check_import(baseline, name: str, content: bytes, allow_mass_removal: bool) -> None:
    template, before = baseline
    folder = Path(tempfile.mkdtemp(prefix="beian-fuzz-"))
    try:
        shutil.copy(template, folder / "r.db")
        url = f"sqlite:///{folder / 'r.db'}"
        config = folder / "beian.toml"
        config.write_text(f'database = "{url}"\n', encoding="utf-8")
        path = folder / name
        path.write_bytes(content)
        argv = ["--config", str(config), "registry", "import", str(path)]
        if allow_mass_removal:
            argv.append("--allow-mass-removal")
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
        err_text = err.getvalue()
        assert "internal error" not in err_text, err_text
        assert code in (0, 2), (code, err_text)
        store = Store(url)
        try:
            if code == 0:
                assert err_text == "", err_text
                assert not import_file(store, path).changed, "a second import of the same file changed something"
                return
            lines = err_text.splitlines()
            assert lines and lines[-1].startswith("beian: error: "), err_text
            if "would mark" in lines[-1]:  # the mass-removal refusal: one line
                assert not allow_mass_removal and len(lines) == 1, err_text
            else:
                assert lines[-1].endswith("nothing was imported"), err_text
                listed = [line for line in lines[:-1] if not line.startswith("(more errors not shown")]
                assert listed, err_text
                for line in listed:
                    match = _ERROR_LINE.match(line)
                    assert match and match["file"] == name, f"not file:row:field: {line!r}"
            assert _state(store) == before, "a refused file changed the stored registry"
        finally:
            store.dispose()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# --- values ---------------------------------------------------------------------------------------------

NASTY = [
    "\ud800", "a\udfff", "\x00", "nul\x00", "", " ", "\n", "a" * 65, "9" * 300, "京ICP备10206937号", "京ICP备10206937号-1",
    "粤ICP备2021012345号-2", "企业", "个人", "外星人", "已备案", "备案中", "已注销", "暂停", "example.cn", "例子.中国",
    "xn--fsq.com", "-bad-.cn", "a..cn", "example.cn;example.com.cn", "医疗保健:京卫网审[2021]第0012号", "13800138000",
    "=1+1", "'\"", "\u202e", "\ufeff", "\U0001f600", "ｅｘａｍｐｌｅ．ｃｎ", "1e400", "NaN",
]
text = st.one_of(st.sampled_from(NASTY), st.text(st.characters(exclude_categories=()), max_size=12))
scalar = st.one_of(
    text, st.none(), st.booleans(), st.integers(-(10**30), 10**30), st.floats(allow_nan=True, allow_infinity=True)
)
json_value = st.recursive(
    scalar, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3), max_leaves=6
)
DEEP = "\u0001DEEP{}\u0001"
deep = st.integers(30, 3000).map(DEEP.format)  # replaced by that many nested lists after serialising

SUBJECT_KEYS = ["subject_number", "name", "nature", "certificate_type", "certificate_number", "province",
                "address", "principal", "customer_email", "websites", "extra_field"]
WEBSITE_KEYS = ["website_number", "name", "domains", "homepage", "service_content", "pre_approvals", "status",
                "provider_code", "leader", "ip"]


@st.composite
def json_files(draw) -> bytes:
    data = copy.deepcopy(SMALL)
    for _ in range(draw(st.integers(0, 6))):
        subjects = data.get("subjects") if isinstance(data, dict) else None
        kind = draw(st.sampled_from(["subject", "website", "contact", "approval", "drop", "dup", "top"]))
        value = draw(st.one_of(json_value, deep) if draw(st.integers(0, 9)) == 0 else json_value)
        if not subjects or not isinstance(subjects, list):
            break
        subject = draw(st.sampled_from(subjects))
        if not isinstance(subject, dict):
            continue
        sites = subject.get("websites") if isinstance(subject.get("websites"), list) else []
        site = draw(st.sampled_from(sites)) if sites else None
        if kind == "subject":
            subject[draw(st.sampled_from(SUBJECT_KEYS))] = value
        elif kind == "website" and isinstance(site, dict):
            site[draw(st.sampled_from(WEBSITE_KEYS))] = value
        elif kind == "contact":
            target = site if isinstance(site, dict) and draw(st.booleans()) else subject
            contact = target.setdefault("leader" if target is site else "principal", {})
            if isinstance(contact, dict):
                contact[draw(st.sampled_from(["name", "mobile", "phone", "email"]))] = value
        elif kind == "approval" and isinstance(site, dict):
            site["pre_approvals"] = [{"category": draw(text), "number": value}, value]
        elif kind == "drop":
            if sites and draw(st.booleans()):
                sites.remove(site)
            else:
                subjects.remove(subject)
        elif kind == "dup":
            subjects.append(copy.deepcopy(subject))
        elif kind == "top":
            data = draw(st.sampled_from(  # the whole document
                [{"subjects": value}, [value], {"subjects": [value]}, {"other": 1}]
            ))
    ascii_only = draw(st.booleans())
    body = json.dumps(data, ensure_ascii=ascii_only)
    body = re.sub(r'"\\u0001DEEP(\d+)\\u0001"', lambda m: "[" * int(m[1]) + "]" * int(m[1]), body)
    raw = body.encode("utf-8", "surrogatepass")  # unpaired surrogates: not UTF-8, must say so
    return _corrupt(draw, raw)


def _corrupt(draw, raw: bytes) -> bytes:
    choice = draw(st.integers(0, 11))
    if choice == 0 and raw:
        return raw[: draw(st.integers(0, len(raw) - 1))]
    if choice == 1 and raw:
        at = draw(st.integers(0, len(raw) - 1))
        return raw[:at] + draw(st.binary(min_size=1, max_size=4)) + raw[at + 1 :]
    return raw


# --- flat files -------------------------------------------------------------------------------------------

HEADERS = [name for canon, aliases in COLUMNS.items() for name in (canon, *aliases)]
cell = st.one_of(st.sampled_from(NASTY), st.text(st.characters(exclude_categories=("Cs",)), max_size=10))


@st.composite
def flat_rows(draw) -> list[list]:
    header = list(CSV_LINES[0])
    rows = [list(row) for row in CSV_LINES[1:]]
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["cell", "cell", "header", "width", "drop", "dup", "blank"]))
        table = [header, *rows]
        row = draw(st.sampled_from(table))
        if kind == "cell" and row:
            row[draw(st.integers(0, len(row) - 1))] = draw(cell)
        elif kind == "header" and header:
            header[draw(st.integers(0, len(header) - 1))] = draw(st.sampled_from(HEADERS) | cell)
        elif kind == "width":
            cut = draw(st.integers(0, len(row) + 3))
            row[:] = row[:cut] + [draw(cell) for _ in range(max(0, cut - len(row)))]
        elif kind == "drop" and rows:
            rows.remove(draw(st.sampled_from(rows)))
        elif kind == "dup" and rows:
            rows.append(list(draw(st.sampled_from(rows))))
        elif kind == "blank":
            rows.insert(draw(st.integers(0, len(rows))), [])
    return [header, *rows]


@st.composite
def csv_files(draw) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=draw(st.sampled_from(["\n", "\r\n"]))).writerows(draw(flat_rows()))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]))
    return _corrupt(draw, buffer.getvalue().encode(encoding, "surrogatepass" if encoding == "utf-8" else "replace"))


@st.composite
def xlsx_files(draw) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = Workbook()
    sheet = workbook.active
    for row in draw(flat_rows()):
        values = []
        for value in row:
            kind = draw(st.integers(0, 9))
            if kind == 0:
                value = draw(st.integers(-(10**15), 10**15) | st.floats(allow_nan=False, allow_infinity=False))
            elif kind == 1:
                value = draw(st.booleans() | st.none())
            if isinstance(value, str):  # what XML cannot carry cannot be in a real workbook either
                value = ILLEGAL_CHARACTERS_RE.sub("", value).encode("utf-8", "ignore").decode("utf-8")
            values.append(value)
        sheet.append(values)
    buffer = io.BytesIO()
    workbook.save(buffer)
    raw = buffer.getvalue()
    edit = draw(st.integers(0, 7))
    if edit > 2:
        return _corrupt(draw, raw) if edit == 3 else raw
    out = io.BytesIO()  # rewrite one part of the package: a DTD/entity, broken or cut XML
    with zipfile.ZipFile(io.BytesIO(raw)) as zin, zipfile.ZipFile(out, "w") as zout:
        part = draw(st.sampled_from([i.filename for i in zin.infolist()]))
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == part:
                text = data.decode("utf-8", "replace")
                if edit == 0:
                    text = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "yyyyyyyy">]>' + text.replace("><", ">&e;<", 1)
                elif edit == 1:
                    text = text[: draw(st.integers(0, len(text)))]
                else:
                    at = draw(st.integers(0, len(text)))
                    text = text[:at] + draw(st.sampled_from(["<", "&", "]]>", "<r>", "\x00", '"'])) + text[at:]
                data = text.encode("utf-8")
            zout.writestr(item, data)
    return out.getvalue()


# --- the properties ---------------------------------------------------------------------------------------


@FUZZ
@given(content=json_files(), allow=st.booleans())
def test_fuzzed_json_imports_or_lists_row_errors(baseline, content, allow):
    _check_import(baseline, "fuzz.json", content, allow)


@FUZZ
@given(content=csv_files(), allow=st.booleans())
def test_fuzzed_csv_imports_or_lists_row_errors(baseline, content, allow):
    _check_import(baseline, "fuzz.csv", content, allow)


@FUZZ
@given(content=xlsx_files(), allow=st.booleans())
def test_fuzzed_xlsx_imports_or_lists_row_errors(baseline, content, allow):
    _check_import(baseline, "fuzz.xlsx", content, allow)
