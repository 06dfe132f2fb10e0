"""Read a registry file (JSON per CONTRACT §2, or a flat CSV/XLSX) into records.

Structural problems are collected as `file:row:field: message` lines; content oddities (a bad phone,
a strange name) are kept as they are and judged later by the registry checks.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
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
)  # fmt: skip
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

    def add(self, row: str | int, field: str, message: str) -> None:
        if len(self.lines) >= MAX_ERRORS:
            self.truncated = True
            return
        self.lines.append(f"{self.source}:{row}:{field}: {message}")


def normalise_hostname(value: str) -> str | None:
    """Lower-case hostname (Unicode kept for IDNs), or None when it is not a hostname."""
    text = value.strip().lower().rstrip(".")
    if not text or len(text) > 253 or "." not in text:
        return None
    try:
        ascii_form = idna.encode(text, uts46=True).decode("ascii")
    except idna.IDNAError:
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


def _contact(data: Any) -> ContactRecord:
    if not isinstance(data, dict):
        return ContactRecord()
    return ContactRecord(
        name=_text(data.get("name")),
        mobile=_text(data.get("mobile")),
        phone=_text(data.get("phone")),
        email=_text(data.get("email")),
    )


def _check_common(subject: SubjectRecord, row: str | int, errors: _Errors) -> None:
    if not subject.subject_number:
        errors.add(row, "subject_number", "missing")
    if subject.nature and subject.nature not in NATURES:
        errors.add(row, "nature", f"unknown value {subject.nature!r} (expected e.g. 个人, 企业, 事业单位)")
    elif not subject.nature:
        errors.add(row, "nature", "missing")


def _check_website(site: WebsiteRecord, row: str | int, errors: _Errors, raw_domains: list[Any]) -> None:
    if not site.website_number:
        errors.add(row, "website_number", "missing")
    if site.status not in STATUSES:
        errors.add(row, "status", f"unknown value {site.status!r} (expected {' | '.join(STATUSES)})")
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
}  # fmt: skip
_WEBSITE_KEYS = {
    "website_number", "name", "domains", "homepage", "service_content", "pre_approvals", "status",
    "provider_code", "leader", "approved_at",
}  # fmt: skip


def parse_json(text: str, source: str) -> list[SubjectRecord]:
    errors = _Errors(source, [])
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RegistryFileError([f"{source}:{exc.lineno}:-: not valid JSON: {exc.msg}"]) from None
    items = data.get("subjects") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise RegistryFileError([f"{source}:1:subjects: expected an object with a \"subjects\" list"])
    subjects: list[SubjectRecord] = []
    for i, item in enumerate(items):
        items[i] = None  # let the parsed JSON go as records are built: a big registry is memory-bound
        row = f"subjects[{i}]"
        if not isinstance(item, dict):
            errors.add(row, "-", "expected an object")
            continue
        subject = SubjectRecord(
            subject_number=_text(item.get("subject_number")),
            name=_text(item.get("name")),
            nature=_text(item.get("nature")),
            certificate_type=_text(item.get("certificate_type")),
            certificate_number=_text(item.get("certificate_number")),
            province=_text(item.get("province")),
            address=_text(item.get("address")),
            principal=_contact(item.get("principal")),
            customer_email=_text(item.get("customer_email")),
            extra={k: v for k, v in item.items() if k not in _SUBJECT_KEYS},
        )
        _check_common(subject, row, errors)
        sites = item.get("websites") or []
        if not isinstance(sites, list):
            errors.add(row, "websites", "expected a list")
            sites = []
        for j, site_data in enumerate(sites):
            site_row = f"{row}.websites[{j}]"
            if not isinstance(site_data, dict):
                errors.add(site_row, "-", "expected an object")
                continue
            raw_domains = site_data.get("domains") or []
            if isinstance(raw_domains, str):
                raw_domains = [d for d in _LIST_SPLIT.split(raw_domains) if d.strip()]
            approvals = []
            for k, pa in enumerate(site_data.get("pre_approvals") or []):
                if not isinstance(pa, dict) or not _text(pa.get("category")):
                    errors.add(site_row, f"pre_approvals[{k}]", "expected {\"category\": …, \"number\": …}")
                    continue
                approvals.append(PreApprovalRecord(_text(pa.get("category")), _text(pa.get("number"))))
            site = WebsiteRecord(
                website_number=_text(site_data.get("website_number")),
                name=_text(site_data.get("name")),
                domains=_domains(raw_domains),
                homepage=_text(site_data.get("homepage")),
                service_content=_text(site_data.get("service_content")),
                pre_approvals=approvals,
                status=_text(site_data.get("status")) or "已备案",
                provider_code=_text(site_data.get("provider_code")),
                leader=_contact(site_data.get("leader")),
                extra={k: v for k, v in site_data.items() if k not in _WEBSITE_KEYS},
                approved_at=_approved_at(site_data.get("approved_at"), site_row, errors),
            )
            _check_website(site, site_row, errors, list(raw_domains))
            subject.websites.append(site)
        subjects.append(subject)
    _check_duplicates(subjects, errors)
    if errors.lines:
        raise RegistryFileError(errors.lines, errors.truncated)
    return subjects


# --- flat CSV / XLSX ---------------------------------------------------------------------------------


def _pre_approvals(text: str) -> list[PreApprovalRecord]:
    """'医疗保健:粤卫网审[2020]第123号;新闻' -> records (category, optional number)."""
    result = []
    for part in re.split(r"[;；\n]+", text):
        if part.strip():
            pieces = re.split(r"[:：]", part, maxsplit=1)
            result.append(PreApprovalRecord(pieces[0].strip(), pieces[1].strip() if len(pieces) > 1 else ""))
    return result


def parse_rows(header: list[Any], rows: Iterator[tuple[int, list[Any]]], source: str) -> list[SubjectRecord]:
    """Rows of the flat form (one website per row) into subjects; `rows` yields (row number, cells)."""
    errors = _Errors(source, [])
    columns: list[str | None] = []
    for cell in header:
        name = _text(cell)
        columns.append(_HEADER_INDEX.get(name) or _HEADER_INDEX.get(name.lower()) or (name or None))
    if "subject_number" not in columns:
        raise RegistryFileError([f"{source}:1:subject_number: no 主体备案号/subject_number column in header"])
    known = set(COLUMNS)
    subjects: dict[str, SubjectRecord] = {}
    subject_rows: dict[str, tuple[int, tuple]] = {}
    for row_number, cells in rows:
        values = {col: _text(cells[i]) if i < len(cells) else "" for i, col in enumerate(columns) if col}
        if not any(values.values()):
            continue  # blank line
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
            if number:
                subjects[number] = subject
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
        subject.websites.append(site)
    result = list(subjects.values())
    _check_duplicates(result, errors)
    if errors.lines:
        raise RegistryFileError(errors.lines, errors.truncated)
    return result


def _check_duplicates(subjects: list[SubjectRecord], errors: _Errors) -> None:
    seen_subjects: set[str] = set()
    seen_sites: set[str] = set()
    for subject in subjects:
        if subject.subject_number in seen_subjects:
            errors.add(subject.subject_number, "subject_number", "appears twice in this file")
        seen_subjects.add(subject.subject_number)
        for site in subject.websites:
            if site.website_number and site.website_number in seen_sites:
                errors.add(site.website_number, "website_number", "appears twice in this file")
            seen_sites.add(site.website_number)


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

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise RegistryFileError([f"{source}:1:-: not a readable .xlsx workbook ({exc})"]) from None
    try:
        sheet = workbook.worksheets[0]
        iterator = sheet.iter_rows(values_only=True)
        header = list(next(iterator, None) or [])
        if not header:
            raise RegistryFileError([f"{source}:1:-: empty worksheet"])
        numbered = ((i, list(cells)) for i, cells in enumerate(iterator, start=2))
        return parse_rows(header, numbered, source)
    finally:
        workbook.close()


def read_registry(path: str | Path) -> list[SubjectRecord]:
    """Parse by extension; RegistryFileError lists every structural problem found."""
    path = Path(path)
    source = path.name
    if not path.is_file():
        raise RegistryFileError([f"{path}:-:-: file not found"])
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
