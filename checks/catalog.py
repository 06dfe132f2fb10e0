"""Every check code with its severity, Chinese title, the rule it enforces and the remediation advice.

The notice templates and the README's check table read this; the advice follows the providers' FAQ
pages (备案 FAQ: 已备案网站必须开站, 首页底部悬挂备案号并链接至 beian.miit.gov.cn, 域名解析至接入商).
"""

from __future__ import annotations

from dataclasses import dataclass

CRITICAL, VIOLATION, WARNING = "critical", "violation", "warning"
MIIT_URL = "https://beian.miit.gov.cn"


@dataclass(frozen=True)
class CheckInfo:
    code: str
    severity: str
    title: str  # 问题描述 (short, Chinese)
    rule: str  # what the rule says, for the README and notices
    remediation: str  # 整改要求


_ITEMS = [
    CheckInfo("site.unreachable", VIOLATION, "网站首页无法访问",
              "已备案网站必须开站：首页应能正常打开（连接被拒绝、超时、TLS 失败、HTTP 4xx/5xx 均视为无法访问）。",
              "请检查服务器、Web 服务与域名解析，确保网站首页可以正常访问；如网站已不再使用，请申请注销网站备案或取消接入，"
              "勿保留无法访问的已备案网站。"),
    CheckInfo("site.placeholder", VIOLATION, "网站首页为空白、默认页或建设中页面",
              "已备案网站须有与备案信息相符的实际内容，不得为服务器默认页、建设中、域名出售或空白页面。",
              "请上线与备案的网站名称、服务内容相符的正式网站内容；暂不开站的，请申请注销网站备案或取消接入。"),
    CheckInfo("site.redirect_offsite", VIOLATION, "网站首页跳转至未备案在本网站下的域名",
              "网站首页不得跳转到不属于本网站备案域名的地址。",
              "请取消跳转，或通过变更备案将目标域名添加到本网站的备案信息中；目标域名需在其实际接入商处完成备案接入。"),
    CheckInfo("site.live_while_pending", VIOLATION, "备案审核期间网站已开通访问",
              "备案审核通过（取得备案号）前，网站不得开通访问。",
              "请在备案审核通过前关闭网站访问（如停止 Web 服务或暂停解析），取得备案号后再开通并在首页悬挂备案号。"),
    CheckInfo("filing.number_missing", VIOLATION, "网站首页未展示备案号",
              "网站开通后应在首页底部中间位置悬挂备案号（主体备案号或网站备案号），并链接至 " + MIIT_URL + "。",
              "请在网站首页底部悬挂本网站的备案号，并为其添加指向 " + MIIT_URL + " 的超链接。备案号须为页面上可见的文字，"
              "写在注释、脚本或隐藏元素中的不计。公安备案号（公网安备）不能代替 ICP 备案号。"),
    CheckInfo("filing.number_mismatch", VIOLATION, "首页展示的备案号与本网站备案信息不符",
              "首页展示的备案号须为本网站的网站备案号或其主体备案号；APP/小程序备案号、ICP 经营许可证号不能代替网站备案号。",
              "请将首页展示的备案号改为本网站的备案号（见下表），核对省份简称与数字是否正确。"),
    CheckInfo("filing.link_missing", VIOLATION, "备案号未链接至工信部备案管理系统",
              "首页展示的备案号须添加超链接，链接至工信部政务服务平台 " + MIIT_URL + "。",
              "请为首页底部的备案号添加超链接，链接地址为 " + MIIT_URL + "。"),
    CheckInfo("filing.link_wrong", VIOLATION, "备案号链接地址错误",
              "备案号须链接至 " + MIIT_URL + "（任意路径均可）；miibeian.gov.cn 等旧地址及公安备案网站不是正确的链接地址。",
              "请将备案号的链接地址改为 " + MIIT_URL + "（原 www.miibeian.gov.cn 地址已停用）。"),
    CheckInfo("access.dns_unresolved", VIOLATION, "备案域名无法解析",
              "已备案的域名应能正常解析并指向本接入商的服务器。",
              "请在域名注册商处为该域名添加解析记录并指向本接入商分配的服务器 IP；如该域名已不再使用，请通过变更备案删除该域名。"),
    CheckInfo("access.foreign_ip", VIOLATION, "备案域名未解析至本接入商的服务器",
              "在本接入商备案接入的域名，须解析至本接入商中国内地的服务器 IP（含经 CNAME 接入本接入商 CDN）；"
              "解析至其他服务商或境外（含香港）节点的，不属于本接入商的接入范围。",
              "请将域名解析修改为本接入商中国内地服务器的 IP；如网站实际使用其他服务商的服务器，请在该服务商处办理备案接入，"
              "并在本接入商处取消接入。"),
    CheckInfo("access.private_ip", VIOLATION, "备案域名解析至内网或保留地址",
              "备案域名须解析至可公开访问的服务器地址；解析至内网、回环、链路本地等保留地址的，网站无法被公众访问。",
              "请将域名解析修改为本接入商分配的公网 IP 地址。"),
    CheckInfo("content.subject_mismatch", VIOLATION, "网站内容与主体性质不符",
              "个人备案网站只能发布个人相关的非经营性内容，不得出现企业、论坛、商城等内容；单位网站内容须与单位性质相符。",
              "请删除与备案主体性质不符的内容，或以相应的单位主体重新办理备案。"),
    CheckInfo("content.preapproval_missing", VIOLATION, "网站内容涉及前置审批但无相应审批",
              "涉及新闻、出版、医疗保健、药品和医疗器械、金融、文化、广播电影电视、网络游戏、电子公告等内容的网站，"
              "须取得主管部门的前置审批并在备案中登记。",
              "请删除涉及前置审批的内容，或取得相应主管部门的前置审批文件后变更备案信息。"),
    CheckInfo("content.prohibited", CRITICAL, "网站含有违法违规内容",
              "网站不得含有赌博、彩票投注、色情、诈骗（如代开发票）等违法违规内容。",
              "请立即删除违法违规内容。此类问题不设整改期，将直接转交运营人员处理，可能立即取消接入。"),
    CheckInfo("content.owner_mismatch", VIOLATION, "网站内容显示的主办者与备案主体不符",
              "网站展示的主办单位、版权所有者应与备案主体一致。",
              "请将网站上的主办单位/版权信息改为备案主体名称，或由实际主办者办理备案。"),
    CheckInfo("registry.phone_invalid", WARNING, "手机号码格式错误或无法接收核验短信",
              "备案负责人手机号须为有效的中国内地手机号，且号段支持工信部短信核验。",
              "请将负责人手机号码变更为本人实名登记、可接收工信部核验短信的中国内地手机号码。"),
    CheckInfo("registry.phone_shared", WARNING, "同一手机号码用于多个备案主体",
              "一个手机号码只能用于一个备案主体的负责人。",
              "请为各备案主体的负责人分别登记本人的手机号码。"),
    CheckInfo("registry.certificate_invalid", WARNING, "证件号码格式或校验位错误",
              "主体证件号码须真实有效：统一社会信用代码、居民身份证号码须通过格式与校验位核验。",
              "请核对并更正主体证件号码，确保与证件原件一致。"),
    CheckInfo("registry.province_mismatch", WARNING, "备案省份与证件所属地区不符",
              "备案号的省份须与主体证件（统一社会信用代码登记机关、身份证签发地或居住证所在地）所属地区一致。",
              "请核对主体所在省份；证件与备案省份不一致的，需提供当地居住证等材料，或在证件所属省份办理备案。"),
    CheckInfo("registry.website_name_invalid", WARNING, "网站名称不符合命名规范",
              "网站名称须至少三个汉字，不得为纯数字或字母、域名或网址，非国家机关不得以中国、中华、国家等字样开头，"
              "个人网站名称不得带有企业或机构性质的字样。",
              "请变更网站名称，使其符合命名规范并能体现网站内容。"),
    CheckInfo("registry.domain_suffix_unsupported", WARNING, "域名后缀不在工信部批准的范围内",
              "只有工信部批准的域名顶级后缀可以办理备案。",
              "请更换为工信部批准的域名后缀，并变更备案信息。"),
    CheckInfo("registry.number_invalid", WARNING, "备案号格式错误",
              "主体备案号形如 京ICP备12345678号（8 或 10 位数字），网站备案号为主体备案号加 -N。",
              "请核对备案号；网站备案号须以其主体备案号开头。"),
    CheckInfo("registry.shell_subject", WARNING, "空壳主体：主体下无网站",
              "备案主体下须至少有一个已备案网站，无网站的主体为空壳主体，将被注销。",
              "请新增网站备案，或申请注销该主体备案。"),
    CheckInfo("registry.subject_duplicate", WARNING, "同一证件重复备案为多个主体",
              "同一主体证件只能对应一个主体备案号。",
              "请将网站合并到同一主体备案号下，并注销重复的主体。"),
]  # fmt: skip

CATALOG: dict[str, CheckInfo] = {item.code: item for item in _ITEMS}


def info(code: str) -> CheckInfo:
    return CATALOG[code]
