"""`beian serve`: the scheduler, the scan queue worker and the operator HTTP API in one process."""
