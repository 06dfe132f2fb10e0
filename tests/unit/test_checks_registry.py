"""registry.* rules on real-format examples and their near-misses."""

from __future__ import annotations

import pytest

from checks.framework import run
from checks.registry import RegistryIndex
from checks.registry_certificate_invalid import certificate_invalid
from checks.registry_domain_suffix_unsupported import domain_suffix_unsupported
from checks.registry_number_invalid import subject_number_invalid, website_number_invalid
from checks.registry_phone_invalid import phone_invalid
from checks.registry_phone_shared import phone_shared
from checks.registry_province_mismatch import province_mismatch
from checks.registry_shell_subject import shell_subject
from checks.registry_subject_duplicate import subject_duplicate
from checks.registry_website_name_invalid import problems, website_name_invalid
from core.records import Contact, SubjectView, WebsiteView
from core.statuses import FAILED, PASSED


def call(fn, *args):
    """A registry check's Outcome, as the judge makes it from what the function returns."""
    return run(fn.check, *args, fn=fn)

def subject(number="京ICP备10206937号", nature="企业", cert_type="统一社会信用代码", cert="91110108MA01ABCD2H",
            province="北京市", mobiles=("13800138000",), websites=None) -> SubjectView:
    return SubjectView(number, "北京示例科技有限公司", nature, cert_type, cert, province,
                       [Contact("principal", "张伟", m) for m in mobiles],
                       websites if websites is not None else [WebsiteView(number + "-1", "示例科技官网", "已备案", ["example.cn"])])


EMPTY = RegistryIndex()


@pytest.mark.parametrize("mobile, ok", [
    ("13800138000", True), ("+86 138 0013 8000", True), ("199 1234 5678", True), ("19212345678", True),
    ("12345678901", False), ("1380013800", False), ("17012345678", False), ("16512345678", False),
    ("14412345678", False), ("13491234567", False), ("abc", False),
])
def test_phone_segments(mobile, ok):
    outcome = call(phone_invalid, subject(mobiles=(mobile,)), EMPTY)
    assert (outcome.state == PASSED) is ok, outcome.findings and outcome.findings[0].summary


def test_landline_form():
    good = subject()
    good.contacts.append(Contact("leader", "李娜", "13900139000", "010-62345678", "京ICP备10206937号-1"))
    assert call(phone_invalid, good, EMPTY).state == PASSED
    bad = subject()
    bad.contacts.append(Contact("leader", "李娜", "13900139000", "12345", "京ICP备10206937号-1"))
    outcome = call(phone_invalid, bad, EMPTY)
    assert outcome.state == FAILED and outcome.findings[0].evidence["problems"][0]["field"] == "phone"


def test_phone_shared_across_subjects_not_within_one():
    a = subject(mobiles=("13800138000", "13800138000"))
    b = subject(number="京ICP备16000002号", mobiles=("+8613800138000",))
    c = subject(number="京ICP备16000003号", mobiles=("13900139000",))
    index = RegistryIndex.build([a, b, c])
    assert call(phone_shared, a, index).state == FAILED
    assert call(phone_shared, b, index).findings[0].evidence["shared"][0]["other_subjects"] == ["京ICP备10206937号"]
    assert call(phone_shared, c, index).state == PASSED
    assert call(phone_shared, a, RegistryIndex.build([a])).state == PASSED


@pytest.mark.parametrize("cert_type, number, ok", [
    ("统一社会信用代码", "91110108MA01ABCD2H", True),   # letter check digit
    ("统一社会信用代码", "91440300MA5F123452", True),
    ("统一社会信用代码", "91110108MA01ABCD2X", False),  # wrong check digit
    ("统一社会信用代码", "9111010", False),
    ("居民身份证", "440106199001011235", True),
    ("居民身份证", "51010719920715781X", False),
    ("居民身份证", "440106199013011235", False),        # month 13
    ("护照", "E12345678", True),
    ("港澳居民来往内地通行证", "H12345678", True),
    ("港澳居民来往内地通行证", "X1234", False),
])
def test_certificates(cert_type, number, ok):
    outcome = call(certificate_invalid, subject(cert_type=cert_type, cert=number), EMPTY)
    assert (outcome.state == PASSED) is ok


def test_province_rules():
    assert call(province_mismatch, subject(), EMPTY).state == PASSED
    sichuan = subject(number="蜀ICP备2022003344号", cert="91510100MA6C45678T", province="四川省")
    assert call(province_mismatch, sichuan, EMPTY).state == PASSED
    guangdong_cert = subject(cert="91440101MA5C00001N")
    outcome = call(province_mismatch, guangdong_cert, EMPTY)
    assert outcome.state == FAILED and "广东省" in outcome.findings[0].summary
    person = subject(number="粤ICP备2021012345号", nature="个人", cert_type="居民身份证", cert="440106199001011235",
                     province="广东省")
    assert call(province_mismatch, person, EMPTY).state == PASSED
    moved = subject(province="上海市")
    assert call(province_mismatch, moved, EMPTY).findings[0].evidence["mismatches"][0]["field"] == "province"
    central = subject(cert="91100000100003962T")  # registered centrally (code 10): nothing to compare
    assert call(province_mismatch, central, EMPTY).state == PASSED


@pytest.mark.parametrize("name, nature, ok", [
    ("示例科技官网", "企业", True), ("小明的技术博客", "个人", True), ("海风文化传播", "企业", True),
    ("abc123", "企业", False), ("博客", "个人", False), ("www.example.cn", "企业", False),
    ("中国示例科技网", "企业", False), ("中国示例科技网", "政府机关", True), ("人民示例", "企业", False),
    ("小明科技有限公司", "个人", False), ("小明的技术论坛", "个人", False), ("示例科技论坛", "企业", True),
    ("时时彩票资讯网", "企业", False), ("小明的ABC博客", "个人", True),
])
def test_website_names(name, nature, ok):
    found = problems(name, nature)
    assert (not found) is ok, found
    website = WebsiteView("京ICP备10206937号-1", name, "已备案")
    assert (call(website_name_invalid, website, subject(nature=nature), EMPTY).state == PASSED) is ok


@pytest.mark.parametrize("domain, ok", [
    ("example.cn", True), ("example.com.cn", True), ("例子.中国", True), ("xn--fsqu00a.xn--fiqs8s", True),
    ("shop.top", True), ("example.xyz", True), ("guangzhou-trade.io", False), ("example.me", False),
    ("example.ai", False), ("blog.github.io", False),
])
def test_domain_suffixes(domain, ok):
    website = WebsiteView("京ICP备10206937号-1", "示例科技官网", "已备案", [domain])
    outcome = call(domain_suffix_unsupported, website, subject(), EMPTY)
    assert (outcome.state == PASSED) is ok
    if not ok:
        assert outcome.findings[0].domain == domain


@pytest.mark.parametrize("number, ok", [
    ("京ICP备10206937号", True), ("粤ICP备2021012345号", True), ("蜀ICP备2022003344号", True),
    ("京ICP备1020693号", False), ("川ICP备2022003344号", False), ("京ICP证030173号", False),
    ("京ICP备10206937号-1", False), ("京ICP备10206937", False), ("京B2-20090059", False),
])
def test_subject_numbers(number, ok):
    assert (call(subject_number_invalid, subject(number=number), EMPTY).state == PASSED) is ok


@pytest.mark.parametrize("website_number, ok", [
    ("京ICP备10206937号-1", True), ("京ICP备10206937号-12", True), ("京ICP备10206937号", False),
    ("京ICP备16000004号-1", False), ("京ICP备10206937号-1A", False), ("京ICP备10206937号-1 ", True),
])
def test_website_numbers_extend_their_subject(website_number, ok):
    website = WebsiteView(website_number, "示例科技官网", "已备案", ["example.cn"])
    assert (call(website_number_invalid, website, subject(), EMPTY).state == PASSED) is ok


def test_shell_and_duplicate_subjects():
    assert call(shell_subject, subject(), EMPTY).state == PASSED
    assert call(shell_subject, subject(websites=[]), EMPTY).state == FAILED
    cancelled = [WebsiteView("京ICP备10206937号-1", "示例科技官网", "已注销", ["example.cn"])]
    assert call(shell_subject, subject(websites=cancelled), EMPTY).state == FAILED
    a, b = subject(), subject(number="京ICP备16000006号", cert="91110108MA01ABCD2H")
    index = RegistryIndex.build([a, b])
    assert call(subject_duplicate, a, index).findings[0].evidence["other_subjects"] == ["京ICP备16000006号"]
    assert call(subject_duplicate, subject(number="京ICP备1"), RegistryIndex.build([a])).state == FAILED
    assert call(subject_duplicate, a, RegistryIndex.build([a])).state == PASSED
