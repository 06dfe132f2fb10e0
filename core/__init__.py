"""The bottom layer: the vocabulary every other package shares (configuration, the clock, statuses, ICP
numbers, address classes, filing records and the typed observation). It imports no other package of ours."""
