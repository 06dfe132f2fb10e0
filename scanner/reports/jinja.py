"""The one Jinja2 environment for the customer mails, the scan report and the console (templates/): a missing
value is an error (never an empty hole in a customer's mail), and HTML templates are autoescaped."""

from __future__ import annotations

import json
from functools import lru_cache

import jinja2


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("scanner.reports", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["pretty"] = lambda value: json.dumps(value, ensure_ascii=False, indent=1, default=str)
    return env
