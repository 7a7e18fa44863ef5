"""The compiler passes: freeze, validate, capabilities, admission, diagnostics, deploy."""

__all__: list[str] = []
