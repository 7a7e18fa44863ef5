"""``mcp_tool(snapshot, "server/tool", input=T, output=U)``: a snapshot entry as a typed ``Tool`` leaf.

A kernel ``call(mcp("server", "tool"))`` is untyped (``Any`` ends) and cannot be
called with a handle inside a ``@flow`` body; this leaf can, and it carries the
snapshot's frozen definition, so ``deploy`` and ``Agent(tools=[...])`` find the
tool without being handed the snapshot again. It has no local body: runs reach
the server through ``mcp_servers=`` (or a fake in ``tools=``).
"""

from __future__ import annotations

from typing import Any, TypeVar, overload

from composable_agents.authoring.leaves import Tool
from composable_agents.core.ir import CallStep, Prim
from composable_agents.core.pures import DEFAULT_REGISTRY, Registry
from composable_agents.errors import CompositionError

__all__ = ["mcp_tool"]

_X = TypeVar("_X")
_Y = TypeVar("_Y")


@overload
def mcp_tool(
    snapshot: Any, key: str, *, input: type[_X], output: type[_Y], registry: Registry | None = ...
) -> Tool[_X, _Y]: ...
@overload
def mcp_tool(
    snapshot: Any, key: str, *, input: Any = ..., output: Any = ..., registry: Registry | None = ...
) -> Tool[Any, Any]: ...
def mcp_tool(
    snapshot: Any, key: str, *, input: Any = Any, output: Any = Any, registry: Registry | None = None
) -> Tool[Any, Any]:
    """The MCP tool ``key`` (``server/tool``) of ``snapshot`` as a ``Tool[input, output]``, registered.

    ``input``/``output`` type the leaf for mypy and the run-time boundary
    checks; the frozen definition (schemas, server version, annotations) stays
    the snapshot's. Like ``@tool``, it registers the definition (in
    ``DEFAULT_REGISTRY`` unless ``registry=``), so ``deploy(flow)`` without
    ``tools=`` finds it.
    """
    try:
        definition = snapshot[key]
    except (KeyError, TypeError):
        keys = ", ".join(sorted(getattr(snapshot, "keys", list)())) or "none"
        msg = f"MCP tool {key!r} is not in the snapshot (tools: {keys})"
        raise CompositionError(msg) from None
    if getattr(definition, "kind", None) != "mcp":
        msg = f"{key!r} is not an MCP tool definition (kind {getattr(definition, 'kind', None)!r})"
        raise CompositionError(msg)
    (registry or DEFAULT_REGISTRY).register_tool(definition)
    arrow: Tool[Any, Any] = Tool(Prim(step=CallStep(key)), in_type=input, out_type=output, label=key)
    object.__setattr__(arrow, "_def", definition)
    object.__setattr__(arrow, "_guarded", None)
    return arrow
