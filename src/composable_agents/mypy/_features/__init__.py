"""One module per plugin feature: ``any_edge`` (the error) and ``join`` (exact shape joins)."""
