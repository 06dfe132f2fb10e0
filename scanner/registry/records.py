"""The registry as plain records, independent of file format and database."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

from core.statuses import CANCELLED, FILED, PENDING, STATUSES  # noqa: F401 - the registry's vocabulary

NATURES = frozenset(
    {
        "个人", "企业", "事业单位", "政府机关", "社会团体", "民办非企业单位", "基金会", "律师执业机构",
        "外国在华文化中心", "群众性团体组织", "司法鉴定机构", "宗教团体", "境外机构", "医疗机构",
        "公证机构", "集体经济组织", "宗教活动场所", "军队", "国防机构", "人民团体",
    }
)


@dataclass(frozen=True)
class ContactRecord:
    name: str = ""
    mobile: str = ""
    phone: str = ""
    email: str = ""

    def is_empty(self) -> bool:
        return not (self.name or self.mobile or self.phone or self.email)


@dataclass(frozen=True)
class PreApprovalRecord:
    category: str
    number: str = ""


@dataclass
class WebsiteRecord:
    website_number: str
    name: str = ""
    domains: list[str] = field(default_factory=list)
    homepage: str = ""
    service_content: str = ""
    pre_approvals: list[PreApprovalRecord] = field(default_factory=list)
    status: str = FILED
    provider_code: str = ""
    leader: ContactRecord = field(default_factory=ContactRecord)
    extra: dict = field(default_factory=dict)
    approved_at: str = ""  # 审核通过日期, YYYY-MM-DD

    def content(self) -> dict:
        data = asdict(self)
        data.pop("extra")
        if not data["approved_at"]:
            data.pop("approved_at")  # records imported before the field existed keep their fingerprint
        return data

    def fingerprint(self) -> str:
        return _fingerprint({**self.content(), "extra": self.extra})

    @property
    def homepage_host(self) -> str:
        return homepage_host(self.homepage, self.domains)


@dataclass
class SubjectRecord:
    subject_number: str
    name: str = ""
    nature: str = ""
    certificate_type: str = ""
    certificate_number: str = ""
    province: str = ""
    address: str = ""
    principal: ContactRecord = field(default_factory=ContactRecord)
    customer_email: str = ""
    websites: list[WebsiteRecord] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    def content(self) -> dict:
        data = asdict(self)
        data.pop("websites")
        data.pop("extra")
        return data

    def fingerprint(self) -> str:
        return _fingerprint({**self.content(), "extra": self.extra})


def _fingerprint(data: dict) -> str:
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def homepage_host(homepage: str, domains: list[str]) -> str:
    """The host to fetch: the homepage field without scheme/path, else the first filed domain."""
    text = (homepage or "").strip()
    if text:
        if "://" in text:
            text = text.split("://", 1)[1]
        text = text.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
        text = text.rsplit("@", 1)[-1].split(":", 1)[0]
        if text:
            return text.lower().rstrip(".")
    return domains[0] if domains else ""
