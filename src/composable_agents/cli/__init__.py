"""The ``ca`` command line: one module per verb (SPEC §19)."""

__all__: list[str] = []
