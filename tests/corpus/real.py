"""The real-page corpus: homepages nobody on the project wrote (tests/corpus/real/pages/, origins and labels in
tests/corpus/real/manifest-*.jsonl), served by the sandbox exactly as stored and scanned by the real crawl.

    .venv/bin/python -m tests.corpus.real [--split tune|holdout|all] [--manifest a|b|c ...]

prints precision and recall per code family (site.placeholder, filing.*, content.*) for each split, and every
disagreement between the scan and the labels. Each manifest row names its page, its origin (repository, path,
commit), every change made to it, the filing record it is scanned under, and the expected codes ("ignored"
lists codes whose label is genuinely arguable; they are not scored; where site.placeholder is ignored and the scan
found it, the page's filing codes are not scored either, since filing.* never run on a placeholder). The split
was fixed before tuning:
sha1(id) even = tune, odd = holdout.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent / "real"
FAMILIES = {
    "site.placeholder": ("site.placeholder",),
    "filing": ("filing.number_missing", "filing.number_mismatch", "filing.link_missing", "filing.link_wrong"),
    "content": ("content.subject_mismatch", "content.preapproval_missing", "content.prohibited", "content.owner_mismatch"),
}
SCORED = {code for codes in FAMILIES.values() for code in codes}
NETWORK = "127.40.0.0/16"


@dataclass
class Page:
    id: str
    file: Path
    charset: str
    record: dict
    expect: set[str]
    ignored: set[str]
    split: str
    notes: str = ""
    row: dict = field(default_factory=dict)


def reviews() -> dict[str, dict]:
    """The project's second look at a label (review.jsonl): codes it marks ignored, with the reason. A label is
    never changed silently; these lines are the record of every change."""
    path = HERE / "review.jsonl"
    if not path.is_file():
        return {}
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {row["id"]: row for row in rows}


def pages(manifests: tuple[str, ...] = ()) -> list[Page]:
    """The corpus pages, from every manifest or only from manifest-<name>.jsonl for each name given."""
    found = []
    reviewed = reviews()
    for manifest in sorted(HERE.glob("manifest-*.jsonl")):
        if manifests and manifest.stem.removeprefix("manifest-") not in manifests:
            continue
        for line_no, line in enumerate(manifest.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            row = json.loads(line)
            expect = row["expect"]
            codes = set(expect.get("filing", [])) | set(expect.get("content", []))
            if expect.get("site.placeholder"):
                codes.add("site.placeholder")
            file = HERE / row["file"]
            if not file.is_file():
                raise ValueError(f"{manifest.name}:{line_no}: file {row['file']} is missing")
            ignored = set(expect.get("ignored", [])) | set(reviewed.get(row["id"], {}).get("ignored", []))
            found.append(Page(row["id"], file, row.get("charset") or "utf-8", row["record"], codes, ignored,
                              row["split"], row.get("notes", ""), row))
    return found


def world(items: list[Page]) -> dict:
    """A sandbox world serving each page on https and http of its record's domains."""
    hosts, subjects, seen = {}, {}, set()
    for index, page in enumerate(items):
        record = page.record
        address = f"127.40.{index // 250}.{index % 250 + 1}"
        for domain in record["domains"]:
            if domain in seen:
                raise ValueError(f"{page.id}: domain {domain} is filed for another page too")
            seen.add(domain)
            hosts[domain] = {"a": [address], "web": {"file": str(page.file), "charset": page.charset}}
        subject = subjects.setdefault(record["subject_number"], {
            "subject_number": record["subject_number"], "name": record["subject_name"], "nature": record["nature"],
            "websites": []})
        if (subject["name"], subject["nature"]) != (record["subject_name"], record["nature"]):
            raise ValueError(f"{page.id}: subject {record['subject_number']} is filed with another name or nature")
        subject["websites"].append({
            "website_number": record["website_number"], "name": record.get("website_name") or record["subject_name"],
            "domains": record["domains"], "pre_approvals": record.get("pre_approvals") or []})
    return {
        "name": "real-corpus",
        "scanner": {"provider": {"ip_ranges": [NETWORK]},
                    "fetch": {"allow_ranges": [NETWORK], "only_ranges": ["127.0.0.0/8"], "timeout_s": 20},
                    # the machine is shared: a fetch or a render must not fail for want of CPU time (no
                    # timing luck); the labels are about what the pages say, not how fast they come
                    "render": {"timeout_s": 60}},
        "hosts": hosts,
        "registry": {"subjects": list(subjects.values())},
    }


def scan(items: list[Page], tmp_path: Path) -> dict[str, set[str]]:
    """Scan the corpus through the CLI on the sandbox: the scored codes found per page."""
    from scanner.sandbox import Sandbox
    from scanner.sandbox.world import parse_world
    from tests.sandbox_helpers import beian, import_world_registry, warm_certificates, write_config

    by_website = {p.record["website_number"]: p.id for p in items}
    got: dict[str, set[str]] = {p.id: set() for p in items}
    # a scan of the whole corpus takes minutes on a loaded machine: bounds generous enough never to be the result
    with Sandbox(parse_world(world(items), HERE), lifetime_s=2400) as box:
        warm_certificates(box)  # 345 certificates made lazily in the server's loop would eat the fetch budgets
        config = write_config(box, tmp_path)
        import_world_registry(box, config, tmp_path)
        output = tmp_path / "findings.jsonl"
        result = beian(config, "scan", "--output", str(output), timeout=1800)
        assert result.returncode == 0, result.stderr[-3000:]
        findings = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines() if line.strip()]
    for finding in findings:
        page_id = by_website.get(finding["website_number"] or "")
        if page_id:  # unscored codes too (site.unreachable, ...): score() shows them beside a disagreement
            got[page_id].add(finding["check"])
    return got


def score(items: list[Page], got: dict[str, set[str]]) -> tuple[dict, list[str]]:
    """Per split and family: precision, recall and counts; and one line per disagreement."""
    table: dict[str, dict[str, dict]] = {}
    wrong = []
    for page in items:
        ignored = set(page.ignored)
        if "site.placeholder" in ignored and "site.placeholder" in got[page.id]:
            # the label accepts a placeholder finding here, and the filing checks never run on a placeholder
            # (site.* are their root causes): the page's filing labels cannot be scored against that answer
            ignored |= set(FAMILIES["filing"])
        found, want = (got[page.id] & SCORED) - ignored, page.expect - ignored
        for split in (page.split, "all"):
            for family, codes in FAMILIES.items():
                row = table.setdefault(split, {}).setdefault(family, {"tp": 0, "fp": 0, "fn": 0})
                for code in codes:
                    if code in ignored:
                        continue
                    if code in found and code in want:
                        row["tp"] += 1
                    elif code in found:
                        row["fp"] += 1
                    elif code in want:
                        row["fn"] += 1
        if found != want:
            unscored = sorted(got[page.id] - SCORED)
            wrong.append(f"{page.id} [{page.split}] {page.row.get('kind', '')}: got {sorted(found)}, "
                         f"want {sorted(want)}{f' (also {unscored})' if unscored else ''} - {page.notes[:100]}")
    for families in table.values():
        for row in families.values():
            row["precision"] = row["tp"] / (row["tp"] + row["fp"]) if row["tp"] + row["fp"] else 1.0
            row["recall"] = row["tp"] / (row["tp"] + row["fn"]) if row["tp"] + row["fn"] else 1.0
    return table, wrong


def main() -> None:
    parser = argparse.ArgumentParser(description="Scan the real-page corpus and score it against its labels.")
    parser.add_argument("--split", choices=("tune", "holdout", "all"), default="all")
    parser.add_argument("--manifest", action="append", default=[],
                        help="only the pages of manifest-<name>.jsonl (repeatable); default every manifest")
    args = parser.parse_args()
    items = [p for p in pages(tuple(args.manifest)) if args.split in ("all", p.split)]
    with tempfile.TemporaryDirectory() as tmp:
        got = scan(items, Path(tmp))
    table, wrong = score(items, got)
    print(f"{len(items)} real pages ({sum(p.split == 'tune' for p in items)} tune, "
          f"{sum(p.split == 'holdout' for p in items)} holdout)")
    print(f"{'split':<8} {'family':<17} {'precision':>9} {'recall':>7} {'tp':>4} {'fp':>4} {'fn':>4}")
    for split, families in sorted(table.items()):
        for family, row in families.items():
            print(f"{split:<8} {family:<17} {row['precision']:>9.3f} {row['recall']:>7.3f} "
                  f"{row['tp']:>4} {row['fp']:>4} {row['fn']:>4}")
    for line in wrong:
        print("  disagreement:", line)


if __name__ == "__main__":
    main()
