"""The testing kit for users: strategies, invariants and the pytest plugin (SPEC §21)."""

__all__: list[str] = []
