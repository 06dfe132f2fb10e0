"""Record test inputs for every check from a scan of the sample world: for each code, websites (or subjects)
whose recorded inputs make the check fail and others that make it pass, as JSON files in
tests/checks/<code>/{fail,pass}/. Run it after adding a check that the sample world shows:

    .venv/bin/python -m tests.checks.record [--per-code 2]

A file holds the filing record and the observation exactly as the scan stored them (site checks) or the
subject's registry view (registry checks), so tests/unit/test_check_inputs.py judges them with no network.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
SAMPLE = HERE.parent.parent / "scanner" / "sandbox" / "worlds" / "sample.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-code", type=int, default=2, help="inputs kept per code and verdict")
    args = parser.parse_args()

    import checks
    from checks.registry import RegistryIndex
    from core.config import load_config
    from core.observation import dump
    from core.statuses import FAILED, PASSED
    from scanner.registry_checks import load_views
    from scanner.sandbox import Sandbox, load_world
    from scanner.store.db import Store
    from scanner.store.models import Observation
    from scanner.store.observations import decode
    from scanner.targets import Selector, iter_batches
    from tests.sandbox_helpers import import_world_registry, scan, write_config

    kept: dict[tuple[str, str], list[tuple[str, dict]]] = {}

    def keep(code: str, state: str, name: str, data: dict) -> None:
        verdict = {FAILED: "fail", PASSED: "pass"}.get(state)
        if verdict and len(kept.setdefault((code, verdict), [])) < args.per_code:
            kept[(code, verdict)].append((name, data))

    with tempfile.TemporaryDirectory() as tmp, Sandbox(load_world(SAMPLE), lifetime_s=600) as box:
        tmp_path = Path(tmp)
        config_path = write_config(box, tmp_path)
        import_world_registry(box, config_path, tmp_path)
        scan(config_path, tmp_path)
        config = load_config(config_path)
        store = Store(config.database)
        with store.session() as session:
            observed = {row.website_id: decode(row.data) for row in session.query(Observation)}
        for batch in iter_batches(store, config, Selector(), None, size=500):
            for record in batch:
                obs = observed.get(record.website_id)
                if obs is None:
                    continue
                data = {"record": {**asdict(record), "website_id": 1}, "observation": dump(obs)}
                for outcome in checks.evaluate(obs, record):
                    keep(outcome.code, outcome.state, record.website_number, data)
        subjects = load_views(store)
        index = RegistryIndex.build(subjects)
        for subject in subjects:
            others = [s for s in subjects if s is not subject]
            for outcome in checks.evaluate_subject(subject, index):
                keep(outcome.code, outcome.state, subject.subject_number, _registry_input(subject, others, None))
            for website in subject.websites:
                for outcome in checks.evaluate_website(website, subject, index):
                    keep(outcome.code, outcome.state, website.website_number,
                         _registry_input(subject, others, website.website_number))
        store.dispose()
    for (code, verdict), items in sorted(kept.items()):
        folder = HERE / code / verdict
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for name, data in items:
            file = folder / (name.replace("/", "_") + ".json")
            file.write_text(json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"recorded {sum(len(v) for v in kept.values())} inputs for {len({c for c, _ in kept})} codes")


def _registry_input(subject, others, website_number: str | None) -> dict:
    """The subject's view, its website (for website-scope checks) and the other subjects that share a mobile
    number or certificate with it (what the cross-subject index needs)."""
    from dataclasses import asdict

    from checks.registry import certificate_key, mobile_key

    mine_mobiles = {mobile_key(c.mobile) for c in subject.contacts}
    mine_cert = certificate_key(subject.certificate_type, subject.certificate_number)
    related = [asdict(o) for o in others
               if {mobile_key(c.mobile) for c in o.contacts} & mine_mobiles
               or (subject.certificate_number.strip() and certificate_key(o.certificate_type, o.certificate_number) == mine_cert)]
    return {"subject": asdict(subject), "website_number": website_number, "other_subjects": related}


if __name__ == "__main__":
    main()
