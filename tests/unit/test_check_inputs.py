"""Every check on its recorded inputs (tests/checks/<code>/{fail,pass}/*.json, made by tests.checks.record):
the judge, as a scan runs it, must fail the `fail` inputs and pass the `pass` inputs. No network."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import checks
from checks.registry import RegistryIndex
from core.observation import load
from core.records import (
    Contact,
    ContactState,
    LookupAnswer,
    MiitCrossCheck,
    PreApproval,
    ReviewItem,
    SiteRecord,
    SubjectView,
    WebsiteView,
)
from core.statuses import FAILED, PASSED

HERE = Path(__file__).resolve().parents[1] / "checks"
INPUTS = sorted(HERE.glob("*.*/*/*.json"))
WANT = {"fail": FAILED, "pass": PASSED}


def _subject(data: dict) -> SubjectView:
    return SubjectView(**{**data, "contacts": [Contact(**c) for c in data["contacts"]],
                          "websites": [WebsiteView(**w) for w in data["websites"]]})


def _cross_check(website_number, subject_number, subject_name, status, domains, answers) -> MiitCrossCheck:
    return MiitCrossCheck(website_number, subject_number, subject_name, status, tuple(domains),
                          tuple(LookupAnswer(**a) for a in answers))


# the record each workflow check reads
WORKFLOW_ITEMS = {"review.not_done": ReviewItem, "contact.unverified": ContactState,
                  "filing.unknown_at_miit": _cross_check, "filing.registry_stale": _cross_check}


def outcome_of(code: str, data: dict):
    if "workflow" in data:
        return checks.evaluate_workflow(code, WORKFLOW_ITEMS[code](**data["workflow"]))
    if "observation" in data:
        record = SiteRecord(**{**data["record"], "pre_approvals": [PreApproval(**a) for a in data["record"]["pre_approvals"]]})
        outcomes = checks.evaluate(load(data["observation"]), record)
    else:
        subject = _subject(data["subject"])
        index = RegistryIndex.build([subject, *(_subject(o) for o in data["other_subjects"])])
        if data["website_number"] is None:
            outcomes = checks.evaluate_subject(subject, index)
        else:
            website = next(w for w in subject.websites if w.website_number == data["website_number"])
            outcomes = checks.evaluate_website(website, subject, index)
    return next((o for o in outcomes if o.code == code), None)


@pytest.mark.parametrize("path", INPUTS, ids=[f"{p.parent.parent.name}/{p.parent.name}/{p.stem}" for p in INPUTS])
def test_recorded_input(path: Path):
    code, verdict = path.parent.parent.name, path.parent.name
    outcome = outcome_of(code, json.loads(path.read_text(encoding="utf-8")))
    assert outcome is not None, f"{code} was not evaluated on this input"
    assert outcome.state == WANT[verdict], (outcome.state, outcome.reason, [f.summary for f in outcome.findings])
    if verdict == "fail":
        assert all(f.code == code and f.summary for f in outcome.findings)


def test_every_declared_check_has_inputs_that_fail_and_pass():
    for check in checks.all_checks():
        for verdict in WANT:
            assert list((HERE / check.code / verdict).glob("*.json")), f"tests/checks/{check.code}/{verdict}/ is empty"
