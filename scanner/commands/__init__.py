"""Sub-commands of `beian`; each module adds its parsers with `register(subparsers)`."""

from __future__ import annotations

from scanner.commands import demo_cmd, registry_cmd, scan_cmd


def register(sub) -> None:
    for module in (registry_cmd, scan_cmd, demo_cmd):
        module.register(sub)
