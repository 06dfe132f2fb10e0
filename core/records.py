"""The filing records as the checks see them: one website with its subject (for the crawl), and the
registry views with their contacts (for the registry checks)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PreApproval:
    category: str
    number: str = ""


@dataclass
class SiteRecord:
    """What the registry says about one website and its subject."""

    website_id: int
    website_number: str
    website_name: str
    status: str
    domains: list[str]
    homepage_host: str
    subject_number: str
    subject_name: str
    nature: str
    province: str = ""
    service_content: str = ""
    pre_approvals: list[PreApproval] = field(default_factory=list)
    require_website_number: bool = False  # the subject's province requires the -N number on the homepage
    approved_at: str = ""  # 审核通过日期 (YYYY-MM-DD) when the registry gives it
    first_seen: str = ""  # when the website first appeared in our registry (ISO 8601)
    expiry_warn_days: int = 90  # [domains] expiry_warn_days: domain.expiring warns this many days ahead


@dataclass(frozen=True)
class Contact:
    role: str  # principal | leader
    name: str = ""
    mobile: str = ""
    phone: str = ""
    website_number: str | None = None
    sms_rejected: str = ""  # the SMS gateway refused this mobile at the contact verification: its reason


@dataclass
class WebsiteView:
    website_number: str
    name: str
    status: str
    domains: list[str] = field(default_factory=list)


@dataclass
class SubjectView:
    subject_number: str
    name: str
    nature: str
    certificate_type: str
    certificate_number: str
    province: str
    contacts: list[Contact] = field(default_factory=list)
    websites: list[WebsiteView] = field(default_factory=list)


@dataclass(frozen=True)
class ReviewItem:
    """One website in an annual review round (湖北年审) when the round ends, as `review.not_done` reads it."""

    website_number: str
    round_label: str  # e.g. "鄂 2027-01-15 至 2027-04-15"
    ends_on: str  # the round's last day, YYYY-MM-DD (Asia/Shanghai)
    status: str  # 无变化 | 已更新 | 已注销; "" while the website is 备案中 (it waits)
    state: str  # waiting | notified | done
    sms_text: str = ""
    done_at: str = ""  # when the bureau's list (or an operator) recorded it done


@dataclass(frozen=True)
class ContactState:
    """One contact's latest verification (seed 002 负责人联系方式核验), as `contact.unverified` reads it."""

    role: str  # principal | leader
    name: str
    mobile: str
    email: str
    state: str  # sent | verified | bounced | expired
    deadline: str  # YYYY-MM-DD HH:MM, Asia/Shanghai
    email_state: str = ""  # "" | queued | sent | bounced
    sms_state: str = ""  # "" | pending | sending | sent | rejected
    sms_detail: str = ""
    website_number: str | None = None


@dataclass(frozen=True)
class LookupAnswer:
    day: str  # YYYY-MM-DD, Asia/Shanghai
    answer: str  # found | not_found | unknown
    reason: str = ""
    record: dict = field(default_factory=dict)  # found: subject_number, subject_name, website_number, domains, status


@dataclass(frozen=True)
class MiitCrossCheck:
    """Our record of one website beside what the filing query service (MIIT 是否备案查询) answered, newest last."""

    website_number: str
    subject_number: str
    subject_name: str
    status: str
    domains: tuple[str, ...]
    answers: tuple[LookupAnswer, ...] = ()
