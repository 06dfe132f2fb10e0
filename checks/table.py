"""The README's check table, generated from the declarations: `python -m checks.table`."""

from __future__ import annotations

from checks.framework import all_checks


def markdown() -> str:
    lines = ["| code | severity | rule |", "|---|---|---|"]
    lines += [f"| `{c.code}` | {c.severity} | {c.doc} |" for c in all_checks()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
