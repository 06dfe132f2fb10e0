"""The words every layer shares: filing statuses, check outcome states, severities."""

from __future__ import annotations

# 备案状态 of a website in the registry
FILED, PENDING, CANCELLED = "已备案", "备案中", "已注销"
STATUSES = (FILED, PENDING, CANCELLED)
LIVE = (FILED, PENDING)  # a subject with none of these is a shell subject

# What one check concluded for one website or subject
PASSED, FAILED, NOT_CHECKED, NOT_APPLICABLE = "passed", "failed", "not_checked", "not_applicable"

# Finding severities (CONTRACT §3)
CRITICAL, VIOLATION, WARNING = "critical", "violation", "warning"

MIIT_URL = "https://beian.miit.gov.cn"
