"""Read a registry file (JSON per CONTRACT §2, or a flat CSV/XLSX) into records.

Structural problems are collected as `file:row:field: message` lines; content oddities (a bad phone,
a strange name) are kept as they are and judged later by the registry checks.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import idna

from scanner.registry.records import (
    NATURES,
    STATUSES,
    ContactRecord,
    PreApprovalRecord,
    SubjectRecord,
    WebsiteRecord,
)

MAX_ERRORS = 50
MAX_DEPTH = 32  # nesting allowed inside an unknown (kept) JSON field

# Widths of the store's columns (scanner/store/models.py): a longer value is a structural error, since
# PostgreSQL refuses it and the whole file would fail at the write.
_MAX_LENGTH = {
    "subject_number": 64, "certificate_type": 64, "certificate_number": 64, "province": 32,
    "website_number": 64, "provider_code": 32, "mobile": 64, "phone": 64, "category": 64,
}

# Flat form: one row per website, subject columns repeated. Canonical name first, then accepted headers.
COLUMNS: dict[str, tuple[str, ...]] = {
    "subject_number": ("主体备案号", "主体备案号码", "备案号(主体)", "ICP主体备案号"),
    "subject_name": ("name", "主办单位名称", "主体名称", "主办单位", "主办单位或主办人名称"),
    "nature": ("主办单位性质", "单位性质", "主体性质"),
    "certificate_type": ("证件类型", "主办单位证件类型", "主体证件类型"),
    "certificate_number": ("证件号码", "主办单位证件号码", "主体证件号码", "证件号"),
    "province": ("省份", "所在省份", "主体所在省份", "省"),
    "address": ("通信地址", "通讯地址", "主办单位通讯地址", "证件住所", "地址"),
    "principal_name": ("主体负责人", "主体负责人姓名", "负责人姓名", "法人姓名"),
    "principal_mobile": ("主体负责人手机", "主体负责人手机号码", "负责人手机", "负责人手机号码"),
    "principal_phone": ("主体负责人电话", "主体负责人办公电话", "负责人电话", "办公电话"),
    "principal_email": ("主体负责人邮箱", "主体负责人电子邮箱", "负责人邮箱", "电子邮箱"),
    "customer_email": ("客户邮箱", "通知邮箱", "联系邮箱"),
    "website_number": ("网站备案号", "网站备案号码", "备案号(网站)"),
    "website_name": ("网站名称",),
    "domains": ("网站域名", "域名", "域名列表"),
    "homepage": ("网站首页", "首页网址", "网站首页网址", "首页"),
    "service_content": ("服务内容", "网站服务内容"),
    "pre_approvals": ("前置审批", "前置审批项", "前置审批信息"),
    "status": ("备案状态", "网站状态", "状态"),
    "provider_code": ("接入商代码", "接入服务商代码", "接入商"),
    "approved_at": ("审核通过日期", "备案通过时间", "审核通过时间", "备案通过日期"),
    "leader_name": ("网站负责人", "网站负责人姓名"),
    "leader_mobile": ("网站负责人手机", "网站负责人手机号码"),
    "leader_phone": ("网站负责人电话", "网站负责人办公电话"),
    "leader_email": ("网站负责人邮箱", "网站负责人电子邮箱"),
}
_HEADER_INDEX = {alias: canon for canon, aliases in COLUMNS.items() for alias in (canon, *aliases)}
_SUBJECT_COLUMNS = (
    "subject_name", "nature", "certificate_type", "certificate_number", "province", "address",
    "principal_name", "principal_mobile", "principal_phone", "principal_email", "customer_email",
)
_LIST_SPLIT = re.compile(r"[;；,，、\n]+")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class RegistryFileError(Exception):
    """The file cannot be imported. `errors` holds every `file:row:field: message` line found."""

    def __init__(self, errors: list[str], truncated: bool = False) -> None:
        self.errors = errors
        self.truncated = truncated
        super().__init__(errors[0] if errors else "registry file error")


@dataclass
class _Errors:
    source: str
    lines: list[str]
    truncated: bool = False
    fields: set[tuple[str, str]] = field(default_factory=set)

    def has(self, row: str | int, field: str) -> bool:
        return (str(row), field) in self.fields

    def add(self, row: str | int, field: str, message: str) -> None:
        self.fields.add((str(row), field))
        if len(self.lines) >= MAX_ERRORS:
            self.truncated = True
            return
        if not field.isprintable() or ":" in field:  # a header cell is the file's text: keep it one line
            field = repr(field)
        self.lines.append(f"{self.source}:{row}:{field}: {' '.join(message.splitlines())}")


@functools.lru_cache(maxsize=1024)  # each domain is checked twice in a row (records, then errors)
def normalise_hostname(value: str) -> str | None:
    """Lower-case hostname (Unicode kept for IDNs), or None when it is not a hostname."""
    text = value.strip().lower().rstrip(".")
    if not text or len(text) > 253 or "." not in text or _bad_text(text):
        return None
    try:
        ascii_form = idna.encode(text, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError):
        return None
    labels = ascii_form.split(".")
    if not all(_LABEL.match(label) for label in labels) or labels[-1].isdigit():
        return None
    return text


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():  # spreadsheets turn phone numbers into floats
        value = int(value)
    return str(value).strip()


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _bad_text(text: str) -> str | None:
    """Why a string cannot be stored (a NUL, a lone surrogate), or None."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "contains a NUL character"
    return f"contains a lone surrogate U+{ord(found.group()):04X} (not valid Unicode)"


_JSON_TYPE = {bool: "true/false", dict: "an object", list: "a list"}


def _json_text(data: dict, key: str, row: str, errors: _Errors, label: str | None = None) -> str:
    """A text field of a JSON record: a string or a number; anything else is an error naming the field."""
    value = data.get(key)
    if type(value) is str and _UNSTORABLE.search(value) is None:  # the common case, first
        return value.strip()
    label = label or key
    if value is None:
        return ""
    if isinstance(value, bool | dict | list):
        errors.add(row, label, f"expected text, got {_JSON_TYPE[type(value)]}")
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        errors.add(row, label, f"expected text, got {value!r}")
        return ""
    if not isinstance(value, str | int | float):
        errors.add(row, label, f"expected text, got {type(value).__name__}")
        return ""
    text = _text(value)
    problem = _bad_text(text)
    if problem:
        errors.add(row, label, problem)
        return ""
    return text


def _json_contact(data: dict, key: str, row: str, errors: _Errors) -> ContactRecord:
    value = data.get(key)
    if value is None:
        return ContactRecord()
    if not isinstance(value, dict):
        errors.add(row, key, "expected an object {\"name\": …, \"mobile\": …, \"email\": …}")
        return ContactRecord()
    return ContactRecord(
        name=_json_text(value, "name", row, errors, f"{key}.name"),
        mobile=_json_text(value, "mobile", row, errors, f"{key}.mobile"),
        phone=_json_text(value, "phone", row, errors, f"{key}.phone"),
        email=_json_text(value, "email", row, errors, f"{key}.email"),
    )


def _json_extra(data: dict, known: set[str], row: str, errors: _Errors) -> dict:
    """Unknown fields, kept as they are when they can be stored as JSON (finite numbers, valid text,
    nested at most MAX_DEPTH levels); an error naming the field otherwise."""
    extra = {k: v for k, v in data.items() if k not in known}
    for key, value in extra.items():
        problem = _bad_text(key)
        if problem:
            errors.add(row, repr(key), f"field name {problem}")
            continue
        stack = [(value, 1)]
        while stack:  # iterative: a deeply nested value must not exhaust the interpreter's stack
            item, depth = stack.pop()
            problem = None
            if depth > MAX_DEPTH:
                problem = f"nested deeper than {MAX_DEPTH} levels"
            elif isinstance(item, str):
                problem = _bad_text(item)
            elif isinstance(item, float) and not math.isfinite(item):
                problem = f"{item!r} is not a JSON number that can be stored"
            elif isinstance(item, dict):
                for k, v in item.items():
                    problem = problem or _bad_text(k)
                    stack.append((v, depth + 1))
            elif isinstance(item, list):
                stack.extend((v, depth + 1) for v in item)
            if problem:
                errors.add(row, key, problem)
                break
    return extra


def _check_lengths(row: str | int, errors: _Errors, record: SubjectRecord | WebsiteRecord, sep: str = ".") -> None:
    """Values longer than the store's column for them (`sep` joins contact fields: principal.mobile in
    JSON, principal_mobile in the flat form)."""
    if isinstance(record, SubjectRecord):
        names = ("subject_number", "certificate_type", "certificate_number", "province")
        fields = [(name, name, getattr(record, name)) for name in names]
        role, contact = "principal", record.principal
    else:
        fields = [("website_number", "website_number", record.website_number),
                  ("provider_code", "provider_code", record.provider_code)]
        fields += [(f"pre_approvals[{i}]", "category", pa.category) for i, pa in enumerate(record.pre_approvals)]
        role, contact = "leader", record.leader
    fields += [(f"{role}{sep}mobile", "mobile", contact.mobile), (f"{role}{sep}phone", "phone", contact.phone)]
    for label, kind, value in fields:
        if len(value) > _MAX_LENGTH[kind]:
            errors.add(row, label, f"{len(value)} characters, at most {_MAX_LENGTH[kind]} can be stored")


def _check_common(subject: SubjectRecord, row: str | int, errors: _Errors) -> None:
    if not subject.subject_number and not errors.has(row, "subject_number"):
        errors.add(row, "subject_number", "missing")
    if subject.nature and subject.nature not in NATURES:
        errors.add(row, "nature", f"unknown value {subject.nature!r} (expected e.g. 个人, 企业, 事业单位)")
    elif not subject.nature and not errors.has(row, "nature"):
        errors.add(row, "nature", "missing")


def _check_website(
    site: WebsiteRecord, row: str | int, errors: _Errors, raw_domains: list[Any], domains: bool = True
) -> None:
    if not site.website_number and not errors.has(row, "website_number"):
        errors.add(row, "website_number", "missing")
    if site.status not in STATUSES:
        errors.add(row, "status", f"unknown value {site.status!r} (expected {' | '.join(STATUSES)})")
    if not domains:
        return
    if not raw_domains:
        errors.add(row, "domains", "no domain filed for this website")
    for value in raw_domains:
        if not isinstance(value, str) or normalise_hostname(value) is None:
            errors.add(row, "domains", f"{value!r} is not a hostname")


_DATE = re.compile(r"\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T].*)?$")


def _approved_at(value: Any, row: str | int, errors: _Errors) -> str:
    """审核通过日期 as YYYY-MM-DD (2019-05-01, 2019/5/1, 2019年5月1日, an XLSX date, with or without a time)."""
    import datetime as dt

    if value is None or value == "":
        return ""
    if isinstance(value, dt.datetime | dt.date):
        return (value.date() if isinstance(value, dt.datetime) else value).isoformat()
    match = _DATE.match(str(value))
    try:
        if match is None:
            raise ValueError
        return dt.date(int(match[1]), int(match[2]), int(match[3])).isoformat()
    except ValueError:
        errors.add(row, "approved_at", f"{value!r} is not a date (YYYY-MM-DD)")
        return ""


def _domains(values: Iterable[Any]) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        if isinstance(value, str):
            host = normalise_hostname(value)
            if host:
                seen.setdefault(host, None)
    return list(seen)


# --- JSON -------------------------------------------------------------------------------------------

_SUBJECT_KEYS = {
    "subject_number", "name", "nature", "certificate_type", "certificate_number", "province",
    "address", "principal", "customer_email", "websites",
}
_WEBSITE_KEYS = {
    "website_number", "name", "domains", "homepage", "service_content", "pre_approvals", "status",
    "provider_code", "leader", "approved_at",
}


def parse_json(text: str, source: str) -> list[SubjectRecord]:
    errors = _Errors(source, [])
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RegistryFileError([f"{source}:{exc.lineno}:-: not valid JSON: {exc.msg}"]) from None
    except RecursionError:
        raise RegistryFileError([f"{source}:1:-: JSON nested too deeply to read"]) from None
    except ValueError as exc:  # e.g. an integer longer than Python converts (4300 digits)
        raise RegistryFileError([f"{source}:1:-: not valid JSON: {exc}"]) from None
    items = data.get("subjects") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise RegistryFileError([f"{source}:1:subjects: expected an object with a \"subjects\" list"])
    subjects: list[SubjectRecord] = []
    rows: dict[int, str | int] = {}  # id(record) -> where it is in the file
    for i, item in enumerate(items):
        items[i] = None  # let the parsed JSON go as records are built: a big registry is memory-bound
        row = f"subjects[{i}]"
        if not isinstance(item, dict):
            errors.add(row, "-", "expected an object")
            continue
        subject = SubjectRecord(
            subject_number=_json_text(item, "subject_number", row, errors),
            name=_json_text(item, "name", row, errors),
            nature=_json_text(item, "nature", row, errors),
            certificate_type=_json_text(item, "certificate_type", row, errors),
            certificate_number=_json_text(item, "certificate_number", row, errors),
            province=_json_text(item, "province", row, errors),
            address=_json_text(item, "address", row, errors),
            principal=_json_contact(item, "principal", row, errors),
            customer_email=_json_text(item, "customer_email", row, errors),
            extra=_json_extra(item, _SUBJECT_KEYS, row, errors),
        )
        _check_common(subject, row, errors)
        _check_lengths(row, errors, subject)
        sites = item.get("websites")
        if sites is None:
            sites = []
        elif not isinstance(sites, list):
            errors.add(row, "websites", f"expected a list, got {_json_type(sites)}")
            sites = []
        for j, site_data in enumerate(sites):
            site_row = f"{row}.websites[{j}]"
            if not isinstance(site_data, dict):
                errors.add(site_row, "-", "expected an object")
                continue
            raw_domains = site_data.get("domains")
            if raw_domains is None:
                raw_domains = []
            elif isinstance(raw_domains, str):
                raw_domains = [d for d in _LIST_SPLIT.split(raw_domains) if d.strip()]
            elif not isinstance(raw_domains, list):
                errors.add(site_row, "domains", f"expected a list of hostnames, got {_json_type(raw_domains)}")
                raw_domains = None
            raw_approvals = site_data.get("pre_approvals")
            if raw_approvals is None:
                raw_approvals = []
            elif not isinstance(raw_approvals, list):
                errors.add(site_row, "pre_approvals", f"expected a list, got {_json_type(raw_approvals)}")
                raw_approvals = []
            approvals = []
            for k, pa in enumerate(raw_approvals):
                if not isinstance(pa, dict) or pa.get("category") in (None, ""):
                    errors.add(site_row, f"pre_approvals[{k}]", "expected {\"category\": …, \"number\": …}")
                    continue
                category = _json_text(pa, "category", site_row, errors, f"pre_approvals[{k}].category")
                number = _json_text(pa, "number", site_row, errors, f"pre_approvals[{k}].number")
                if category:
                    approvals.append(PreApprovalRecord(category, number))
            site = WebsiteRecord(
                website_number=_json_text(site_data, "website_number", site_row, errors),
                name=_json_text(site_data, "name", site_row, errors),
                domains=_domains(raw_domains or []),
                homepage=_json_text(site_data, "homepage", site_row, errors),
                service_content=_json_text(site_data, "service_content", site_row, errors),
                pre_approvals=approvals,
                status=_json_text(site_data, "status", site_row, errors) or "已备案",
                provider_code=_json_text(site_data, "provider_code", site_row, errors),
                leader=_json_contact(site_data, "leader", site_row, errors),
                extra=_json_extra(site_data, _WEBSITE_KEYS, site_row, errors),
                approved_at=_approved_at(site_data.get("approved_at"), site_row, errors),
            )
            if raw_domains is not None:  # None: the wrong type, reported above
                _check_website(site, site_row, errors, list(raw_domains))
            else:
                _check_website(site, site_row, errors, ["-"], domains=False)
            _check_lengths(site_row, errors, site)
            subject.websites.append(site)
            rows[id(site)] = site_row
        subjects.append(subject)
        rows[id(subject)] = row
    _check_duplicates(subjects, errors, rows)
    if errors.lines:
        raise RegistryFileError(errors.lines, errors.truncated)
    return subjects


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return _JSON_TYPE.get(type(value)) or ("a number" if isinstance(value, int | float) else "text")


# --- flat CSV / XLSX ---------------------------------------------------------------------------------


def _pre_approvals(text: str) -> list[PreApprovalRecord]:
    """'医疗保健:粤卫网审[2020]第123号;新闻' -> records (category, optional number)."""
    result = []
    for part in re.split(r"[;；\n]+", text):
        if part.strip():
            pieces = re.split(r"[:：]", part, maxsplit=1)
            result.append(PreApprovalRecord(pieces[0].strip(), pieces[1].strip() if len(pieces) > 1 else ""))
    return result


def parse_rows(
    header: list[Any], rows: Iterator[tuple[int, list[Any]]], source: str, short_rows: bool = False
) -> list[SubjectRecord]:
    """Rows of the flat form (one website per row) into subjects; `rows` yields (row number, cells).

    A row with more non-empty cells than the header has columns is an error (a shifted or mis-built
    export would otherwise import as wrong fields); so is a shorter row unless `short_rows` (XLSX, which
    does not store empty trailing cells)."""
    errors = _Errors(source, [])
    names = [_text(cell) for cell in header]
    while names and not names[-1]:
        names.pop()  # trailing empty header cells (a sheet wider than its header)
    width = len(names)
    columns: list[str | None] = []
    for i, name in enumerate(names):
        problem = _bad_text(name)
        if problem:
            errors.add(1, f"column {i + 1}", f"header {problem}")
        column = _HEADER_INDEX.get(name) or _HEADER_INDEX.get(name.lower()) or (name or None)
        if column is not None and column in columns:
            errors.add(1, column, f"column {i + 1} ({name!r}) repeats column {columns.index(column) + 1}")
        columns.append(column)
    if "subject_number" not in columns:
        raise RegistryFileError([f"{source}:1:subject_number: no 主体备案号/subject_number column in header"])
    if errors.lines:
        raise RegistryFileError(errors.lines, errors.truncated)
    known = set(COLUMNS)
    rows_of: dict[int, str | int] = {}  # id(record) -> row number
    subjects: dict[str, SubjectRecord] = {}
    subject_rows: dict[str, tuple[int, tuple]] = {}
    for row_number, cells in rows:
        texts = [_text(cell) for cell in cells]
        if not any(texts):
            continue  # blank line
        used = len(texts)
        while used > width and not texts[used - 1]:
            used -= 1  # empty cells past the header (a trailing comma) are harmless
        if used > width or (used < width and not short_rows):
            errors.add(row_number, "-", f"{used} cells but the header has {width} columns")
            continue
        values = {col: texts[i] if i < len(texts) else "" for i, col in enumerate(columns) if col}
        for col, text in values.items():
            problem = _bad_text(text) if text else None
            if problem:
                errors.add(row_number, col, problem)
                values[col] = ""
        extra = {k: v for k, v in values.items() if k not in known and v}
        number = values.get("subject_number", "")
        subject = subjects.get(number)
        subject_values = tuple(values.get(c, "") for c in _SUBJECT_COLUMNS)
        if subject is None:
            subject = SubjectRecord(
                subject_number=number,
                name=values.get("subject_name", ""),
                nature=values.get("nature", ""),
                certificate_type=values.get("certificate_type", ""),
                certificate_number=values.get("certificate_number", ""),
                province=values.get("province", ""),
                address=values.get("address", ""),
                principal=ContactRecord(
                    values.get("principal_name", ""),
                    values.get("principal_mobile", ""),
                    values.get("principal_phone", ""),
                    values.get("principal_email", ""),
                ),
                customer_email=values.get("customer_email", ""),
                extra={k: v for k, v in extra.items() if not k.startswith("website_")},
            )
            _check_common(subject, row_number, errors)
            _check_lengths(row_number, errors, subject, sep="_")
            if number:
                subjects[number] = subject
                rows_of[id(subject)] = row_number
                subject_rows[number] = (row_number, subject_values)
        elif subject_values != subject_rows[number][1]:
            first_row, first_values = subject_rows[number]
            for col, a, b in zip(_SUBJECT_COLUMNS, first_values, subject_values, strict=True):
                if a != b:
                    errors.add(row_number, col, f"{b!r} differs from {a!r} given for this subject in row {first_row}")
                    break
        if not values.get("website_number") and not values.get("domains"):
            continue  # a subject without websites (空壳主体 are judged by the registry checks)
        raw_domains = [d for d in _LIST_SPLIT.split(values.get("domains", "")) if d.strip()]
        site = WebsiteRecord(
            website_number=values.get("website_number", ""),
            name=values.get("website_name", ""),
            domains=_domains(raw_domains),
            homepage=values.get("homepage", ""),
            service_content=values.get("service_content", ""),
            pre_approvals=_pre_approvals(values.get("pre_approvals", "")),
            status=values.get("status") or "已备案",
            provider_code=values.get("provider_code", ""),
            leader=ContactRecord(
                values.get("leader_name", ""),
                values.get("leader_mobile", ""),
                values.get("leader_phone", ""),
                values.get("leader_email", ""),
            ),
            approved_at=_approved_at(values.get("approved_at"), row_number, errors),
        )
        _check_website(site, row_number, errors, raw_domains)
        _check_lengths(row_number, errors, site, sep="_")
        subject.websites.append(site)
        rows_of[id(site)] = row_number
    result = list(subjects.values())
    _check_duplicates(result, errors, rows_of)
    if errors.lines:
        raise RegistryFileError(errors.lines, errors.truncated)
    return result


def _check_duplicates(subjects: list[SubjectRecord], errors: _Errors, rows: dict[int, str | int]) -> None:
    """A filing number given twice; the error names the second place and the first."""

    def where(row: str | int) -> str:
        return f"row {row}" if isinstance(row, int) else row

    seen_subjects: dict[str, str | int] = {}
    seen_sites: dict[str, str | int] = {}
    for subject in subjects:
        row = rows.get(id(subject), "-")
        if subject.subject_number in seen_subjects:
            first = seen_subjects[subject.subject_number]
            errors.add(row, "subject_number", f"{subject.subject_number!r} appears twice in this file (also {where(first)})")
        elif subject.subject_number:
            seen_subjects[subject.subject_number] = row
        for site in subject.websites:
            site_row = rows.get(id(site), "-")
            if site.website_number in seen_sites:
                first = seen_sites[site.website_number]
                errors.add(site_row, "website_number", f"{site.website_number!r} appears twice in this file (also {where(first)})")
            elif site.website_number:
                seen_sites[site.website_number] = site_row


def parse_csv(data: bytes, source: str) -> list[SubjectRecord]:
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise RegistryFileError([f"{source}:1:-: not UTF-8 or GB18030 text"])
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise RegistryFileError([f"{source}:1:-: empty file"]) from None
    except csv.Error as exc:
        raise RegistryFileError([f"{source}:1:-: {exc}"]) from None

    def rows() -> Iterator[tuple[int, list[Any]]]:
        try:
            for cells in reader:
                yield reader.line_num, cells
        except csv.Error as exc:
            raise RegistryFileError([f"{source}:{reader.line_num}:-: malformed CSV: {exc}"]) from None

    return parse_rows(header, rows(), source)


def parse_xlsx(path: Path, source: str) -> list[SubjectRecord]:
    import zipfile

    from openpyxl import load_workbook

    def unreadable(exc: BaseException, row: int | str = 1) -> RegistryFileError:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        detail = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
        return RegistryFileError([f"{source}:{row}:-: not a readable .xlsx workbook ({detail})"])

    # openpyxl reads a hostile or broken workbook with many kinds of exception (zip, XML parse errors
    # for a declared DTD/entity, which are never expanded, bad styles, recursion): each is the file's
    # fault, reported as one line naming it.
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except zipfile.BadZipFile as exc:
        raise RegistryFileError([f"{source}:1:-: not a readable .xlsx workbook ({exc})"]) from None
    except Exception as exc:
        raise unreadable(exc) from None
    try:
        if not workbook.worksheets:
            raise RegistryFileError([f"{source}:1:-: the workbook has no worksheet"])
        sheet = workbook.worksheets[0]
        try:
            iterator = sheet.iter_rows(values_only=True)
            header = list(next(iterator, None) or [])
        except Exception as exc:
            raise unreadable(exc) from None
        if not any(_text(cell) for cell in header):
            raise RegistryFileError([f"{source}:1:-: empty worksheet"])

        def numbered() -> Iterator[tuple[int, list[Any]]]:
            row = 1
            try:
                for row, cells in enumerate(iterator, start=2):
                    yield row, list(cells)
            except Exception as exc:
                raise unreadable(exc, row + 1) from None

        return parse_rows(header, numbered(), source, short_rows=True)
    finally:
        try:
            workbook.close()
        except Exception:  # closing a half-read broken archive may fail again; the error above stands
            pass


def read_registry(path: str | Path) -> list[SubjectRecord]:
    """Parse by extension; RegistryFileError lists every structural problem found."""
    path = Path(path)
    source = path.name
    if not path.is_file():
        raise RegistryFileError([f"{path}:-:-: file not found"])
    try:
        return _read(path, source)
    except OSError as exc:  # unreadable (permissions, a file removed meanwhile, an I/O error)
        raise RegistryFileError([f"{path}:-:-: cannot read: {exc.strerror or exc}"]) from None


def _read(path: Path, source: str) -> list[SubjectRecord]:
    suffix = path.suffix.lower()
    if suffix == ".json":
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise RegistryFileError([f"{source}:1:-: not UTF-8 text"]) from None
        return parse_json(text, source)
    if suffix == ".csv":
        return parse_csv(path.read_bytes(), source)
    if suffix in (".xlsx", ".xlsm"):
        return parse_xlsx(path, source)
    raise RegistryFileError([f"{source}:-:-: unsupported file type {suffix!r} (use .json, .csv or .xlsx)"])
