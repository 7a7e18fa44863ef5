"""Shim: well-formedness and resolution diagnostics."""

from composable_agents.compiler.deploy import validate_frozen

__all__ = ["validate_frozen"]
