"""filing.registry_stale: MIIT's record of a website differs from ours (subject name, domains, status).

Seeds 003/004 (Q19 我的信息需要进行修改，怎么办: 修改后再次提交，等待管局的再次审核; Q20 是否备案查询); seed 002
(备案信息专项主要检查哪些内容: 主体信息、接入信息须与备案信息相符). Only a record the query service found is compared;
anything else is "could not check".
"""

from __future__ import annotations

from checks.framework import WARNING, Binds, Field, Finding, Needs, cannot, check
from core.records import MiitCrossCheck
from core.statuses import FILED


def _domains(values) -> list[str]:
    return sorted({str(d).strip().lower().rstrip(".") for d in values or () if str(d).strip()})


@check(
    code="filing.registry_stale",
    severity=WARNING,
    title="我司备案记录与工信部备案系统不一致",
    rule="接入商的备案信息须与工信部备案管理系统中的记录一致（主办单位名称、网站域名、备案状态）。",
    remediation="请核对工信部备案管理系统中的备案信息；如信息有变化，请通过我司提交变更备案，使双方记录一致。",
    doc="what MIIT's filing query (`beian miit check`) found for the website matches our record: subject name, "
    "domains, status; only a found record is compared",
    needs=Needs.WORKFLOW,
    notice_field="备案信息",
    notice_field_lists=Field.NONE,
    waiver_binds=Binds.RECORD,
)
def registry_stale(item: MiitCrossCheck) -> Finding | None:
    found = [a for a in item.answers if a.answer in ("found", "not_found")]
    if not found or found[-1].answer != "found":
        return cannot("工信部查询无可比对的记录")
    record = found[-1].record
    differences = []
    theirs_name = str(record.get("subject_name") or "").strip()
    if theirs_name and theirs_name != item.subject_name.strip():
        differences.append({"field": "主办单位名称", "ours": item.subject_name, "miit": theirs_name})
    theirs_domains = _domains(record.get("domains"))
    if theirs_domains and theirs_domains != _domains(item.domains):
        differences.append({"field": "网站域名", "ours": _domains(item.domains), "miit": theirs_domains})
    theirs_status = str(record.get("status") or FILED).strip()
    if theirs_status != item.status:
        differences.append({"field": "备案状态", "ours": item.status, "miit": theirs_status})
    if not differences:
        return None
    first = differences[0]
    return Finding(f"{first['field']}：我司记录为 {first['ours']}，工信部记录为 {first['miit']}"
                   + (f" 等 {len(differences)} 项" if len(differences) > 1 else ""), {"differences": differences})
