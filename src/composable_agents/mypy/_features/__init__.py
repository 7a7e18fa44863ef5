"""One module per plugin feature: ``any_edge`` (the error), ``join`` (exact shape joins), ``gate`` (pass-through gates)."""
