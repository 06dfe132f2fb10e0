"""The README and --help stay true: every check code is documented, every command is real."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from checks import all_checks, codes
from checks.table import markdown
from scanner.cli import main

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
CONTRACT = ROOT.parent / "shared" / "CONTRACT.md"


def test_the_readme_check_table_is_the_one_generated_from_the_declarations():
    assert markdown() in README, "README's check table is stale: regenerate it with `python -m checks.table`"


def test_every_contract_code_is_declared():
    if not CONTRACT.is_file():
        pytest.skip("no ../shared/CONTRACT.md beside this checkout")
    contract = set(re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \|", CONTRACT.read_text(encoding="utf-8"), re.MULTILINE))
    assert contract and contract <= set(codes())


def test_every_declared_check_has_chinese_texts_and_a_seed_citation():
    for check in all_checks():
        assert check.title and check.rule and check.remediation and check.doc, check.code
        assert any("\u4e00" <= ch <= "\u9fff" for ch in check.remediation), check.code
        module = __import__(check.fn.__module__, fromlist=["_"])
        assert "seed" in (module.__doc__ or "").lower(), f"{check.code}: cite the seed file and question in its docstring"


@pytest.mark.parametrize("command", [["--help"], ["scan", "--help"], ["registry", "import", "--help"],
                                     ["findings", "--help"], ["demo", "--help"], ["sandbox", "up", "--help"],
                                     ["annual-review", "--help"], ["annual-review", "start", "--help"],
                                     ["contacts", "verify", "--help"], ["miit", "check", "--help"],
                                     ["worker", "--help"]])
def test_help_texts(command, capsys):
    with pytest.raises(SystemExit) as info:
        main(command)
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("usage: beian")
