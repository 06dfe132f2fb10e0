"""Read-only views over scans and findings: exports now; HTML reports and notice templates later."""
