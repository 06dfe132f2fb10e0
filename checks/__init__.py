"""Checks: pure functions of an observation (what the crawl saw) and a filing record.

Each check module defines one code with `@check(...)`; `catalog.CATALOG` lists every code with its
severity, Chinese title and remediation advice; `run.evaluate` applies the root-cause rules.
"""
