"""Workflows with customers that are not scans of websites: the annual review (seed 000)."""
