"""Judge: pure checks of an observation (what the crawl saw) or of the registry, against a filing record.

Each check is one declaration in one module of this package (`checks.framework`); `checks.judge` runs them in
root-cause order. Casework and interfaces read the declarations through `get(code)` and `all_checks()`.
"""

from checks.framework import Check, Finding, Outcome, all_checks, codes, get
from checks.judge import evaluate, evaluate_subject, evaluate_website, evaluate_workflow, not_checked_reason

__all__ = ["Check", "Finding", "Outcome", "all_checks", "codes", "evaluate", "evaluate_subject", "evaluate_website",
           "evaluate_workflow", "get", "not_checked_reason"]
