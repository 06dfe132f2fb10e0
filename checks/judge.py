"""Judge: run every declared check on one website's observation (or on the registry), in root-cause order.

What a check declares decides what happens to it here (CONTRACT §4):
- `statuses`: 已注销 websites get nothing; a 备案中 website only the checks declared for 备案中.
- `needs`: a check runs only when what it reads was observed. When the homepage's own DNS failed or it
  points at a private address, nothing was fetched and the fetch checks are *not applicable* (access.*
  reports the root cause); when our side failed (resolver timeout, an address outside only_ranges, a page
  we could not render) they *could not check*, with the reason.
- `after`: a check runs only when the checks it comes after passed (filing.* and content.* only on a real
  page), else it is not applicable.
Neither "not applicable" nor "could not check" touches open findings; "passed" closes them.
"""

from __future__ import annotations

from core.observation import DNS_OUR_FAILURES, NOT_CONNECTED, FetchState, Observation
from core.records import SiteRecord, SubjectView, WebsiteView
from core.statuses import FAILED, NOT_APPLICABLE, PASSED

from .framework import Check, Needs, Outcome, Scope, all_checks, get, not_checked, run, skipped


def _site_checks() -> list[Check]:
    """Observation checks, each after the checks it declares it comes after (a stable topological order)."""
    pending = [c for c in all_checks() if not (c.on_registry or c.on_workflow)]
    ordered: list[Check] = []
    placed: set[str] = set()
    while pending:
        ready = [c for c in pending if all(a in placed or a not in {p.code for p in pending} for a in c.after)]
        if not ready:
            raise ValueError("checks declare a cycle in `after`: " + ", ".join(c.code for c in pending))
        for c in ready:
            ordered.append(c)
            placed.add(c.code)
            pending.remove(c)
    return ordered


_ORDER: list[Check] | None = None


def site_checks() -> list[Check]:
    global _ORDER
    if _ORDER is None:
        _ORDER = _site_checks()
    return _ORDER


def unobserved(needs: Needs, obs: Observation) -> tuple[str, str] | None:
    """None when what `needs` names was observed; else ("not_applicable" | "not_checked", reason)."""
    if needs == Needs.DNS:
        return None
    if needs == Needs.REGISTRATION:
        return None if obs.domains is not None else ("not_applicable", "域名注册信息未查询（[domains] 未开启）")
    fetch = obs.fetch
    if fetch is None or (fetch.state == FetchState.NOT_FETCHED and fetch.failure in (NOT_CONNECTED[0], NOT_CONNECTED[1])):
        return "not_applicable", "首页域名未解析或解析至保留地址，由 access.* 报告"
    if fetch.state == FetchState.NOT_FETCHED or fetch.ours:
        return "not_checked", fetch.reason or "not fetched"
    if needs == Needs.FETCH:
        return None
    if needs == Needs.ANSWER:
        return None if fetch.state in (FetchState.PAGE, FetchState.REDIRECT_OFFSITE) else ("not_checked", "no page")
    if fetch.state != FetchState.PAGE or obs.page is None:
        return "not_checked", "no page"
    if needs == Needs.PAGE or (needs == Needs.SHOWN_NUMBERS and obs.page.numbers):
        return None  # a number the static HTML already shows is judged on it, even when rendering failed
    return _unreadable(obs)


def _unreadable(obs: Observation) -> tuple[str, str] | None:
    page = obs.page
    render = page.render
    if render is not None and render.failed:
        return "not_checked", f"页面需在浏览器中渲染后才能判断，但未能完成：{render.reason}"
    if page.app_shell and not page.numbers and (render is None or render.state != "rendered"):
        return "not_checked", "页面内容由 JavaScript 生成，静态 HTML 无法判断（未渲染：" + (
            (render.reason if render else "") or "渲染未开启") + "）"
    return None


def evaluate(obs: Observation, record: SiteRecord) -> list[Outcome]:
    """Every observation check that applies to this website, in root-cause order (the not-applicable ones are
    left out: they are not evaluated, so they change nothing)."""
    outcomes: dict[str, Outcome] = {}
    for declaration in site_checks():
        if record.status not in declaration.statuses:
            continue
        per_domain = [a for a in declaration.after if _per_domain(declaration, a)]
        blocking = [a for a in declaration.after if a in outcomes and outcomes[a].state != PASSED and a not in per_domain]
        if blocking:
            outcomes[declaration.code] = skipped(declaration, f"after {blocking[0]}: {outcomes[blocking[0]].state}")
            continue
        missing = unobserved(declaration.needs, obs)
        if missing is not None:
            state, reason = missing
            outcomes[declaration.code] = (skipped if state == "not_applicable" else not_checked)(declaration, reason)
            continue
        outcomes[declaration.code] = _without_roots(run(declaration, obs, record), [outcomes.get(a) for a in per_domain])
    return [o for o in outcomes.values() if o.state != NOT_APPLICABLE]


def _per_domain(declaration: Check, code: str) -> bool:
    """Root-cause order between two domain-scope checks holds per domain, not for the whole website."""
    return declaration.scope == Scope.DOMAIN and get(code).scope == Scope.DOMAIN


def _without_roots(outcome: Outcome, earlier: list[Outcome | None]) -> Outcome:
    """The outcome without its findings on domains (or names under them) an earlier check failed: that
    earlier finding is the root cause there. Nothing left: passed (its old findings there close)."""
    roots = {f.domain for o in earlier if o is not None and o.state == FAILED for f in o.findings if f.domain}
    if not roots or outcome.state != FAILED:
        return outcome
    kept = [f for f in outcome.findings if not any(f.domain == r or (f.domain or "").endswith("." + r) for r in roots)]
    if len(kept) == len(outcome.findings):
        return outcome
    return Outcome(outcome.code, FAILED, kept) if kept else Outcome(outcome.code, PASSED, reason="root cause: " + ", ".join(sorted(roots)))


def not_checked_reason(obs: Observation, record: SiteRecord) -> str | None:
    """Why this website as a whole could not be checked (our failure), or None."""
    fetch = obs.fetch
    home = obs.answer(record.homepage_host)
    if (fetch is not None and fetch.ours) or (home is not None and home.outcome in DNS_OUR_FAILURES):
        return (fetch.reason if fetch is not None else "") or "our resolvers did not answer"
    return None


def evaluate_subject(subject: SubjectView, index) -> list[Outcome]:
    return [run(c, subject, index) for c in all_checks() if c.on_registry and c.scope == Scope.SUBJECT]


def evaluate_website(website: WebsiteView, subject: SubjectView, index) -> list[Outcome]:
    outcomes = []
    for c in all_checks():
        if not c.on_registry or website.status not in c.statuses:
            continue
        if c.scope == Scope.WEBSITE:
            outcomes.append(run(c, website, subject, index))
        elif c.website_fn is not None:
            outcomes.append(run(c, website, subject, index, fn=c.website_fn))
    return outcomes


def evaluate_workflow(code: str, item) -> Outcome:
    """One workflow check (declared with needs=WORKFLOW) on one record of its workflow: a review item, a
    contact's verification, a cross-check's answers. Scans never run these."""
    declaration = get(code)
    if not declaration.on_workflow:
        raise ValueError(f"{code} is not a workflow check")
    return run(declaration, item)
