"""Sub-commands of `beian`; each module adds its parsers with `register(subparsers)`."""

from __future__ import annotations

from scanner.commands import (
    cases_cmd,
    cluster_cmd,
    contacts_cmd,
    demo_cmd,
    miit_cmd,
    notices_cmd,
    registry_cmd,
    report_cmd,
    review_cmd,
    scan_cmd,
    serve_cmd,
    website_cmd,
)


def register(sub) -> None:
    for module in (registry_cmd, scan_cmd, report_cmd, cases_cmd, website_cmd, review_cmd, contacts_cmd, miit_cmd, notices_cmd, serve_cmd, cluster_cmd, demo_cmd):
        module.register(sub)
