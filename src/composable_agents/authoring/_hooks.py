"""The hook list every leaf asks first when called, and the schema helper the leaves share.

A ``@flow`` tracer installs itself in :data:`TRACE_HOOKS`; a tool, pure or
``think`` called with the tracer's handles then appends a step instead of
running. Kept apart from the leaf modules so tools, pures and reasoners each
import it without importing one another.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from composable_agents.core.canonical import JsonObject

__all__ = ["TRACE_HOOKS"]

TRACE_HOOKS: list[Callable[[object, tuple[Any, ...], dict[str, Any]], Any]] = []
"""Hooks asked first when a leaf is called: a ``@flow`` tracer returns a step
handle for calls that involve its handles, or ``NotImplemented`` to decline."""


def _traced(leaf: object, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    for hook in TRACE_HOOKS:
        result = hook(leaf, args, kwargs)
        if result is not NotImplemented:
            return result
    return NotImplemented


def _schema(tp: object) -> JsonObject:
    from composable_agents.core.schema import schema_of

    return dict(schema_of(tp) or {})
