"""The README and --help stay true: every check code is documented, every command is real."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from checks.catalog import CATALOG
from checks.run import implemented
from scanner.cli import main

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_every_catalog_code_is_in_the_readme_table():
    table = set(re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \|", README, re.MULTILINE))
    assert table == set(CATALOG)


def test_every_implemented_check_has_catalog_texts():
    for code in implemented():
        info = CATALOG[code]
        assert info.title and info.rule and info.remediation
        assert any("\u4e00" <= ch <= "\u9fff" for ch in info.remediation)


def test_readme_says_planned_only_for_unimplemented_codes():
    for code in CATALOG:
        row = next(line for line in README.splitlines() if line.startswith(f"| `{code}` |"))
        assert ("(planned)" in row) == (code not in implemented()), code


@pytest.mark.parametrize("command", [["--help"], ["scan", "--help"], ["registry", "import", "--help"],
                                     ["findings", "--help"], ["demo", "--help"], ["sandbox", "up", "--help"]])
def test_help_texts(command, capsys):
    with pytest.raises(SystemExit) as info:
        main(command)
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("usage: beian")
