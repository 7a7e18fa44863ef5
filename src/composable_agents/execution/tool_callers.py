"""How local runs reach live MCP servers without importing the integration that talks to them.

``Deployment.dry_run(..., mcp_servers=[McpServer(...)])`` needs an ``mcp_call``
built from the servers, but the MCP client lives in ``integrations/``, above
this layer. ``composable_agents.integrations.mcp`` registers its factory here
when it is imported (which it is whenever a user built an ``McpServer``), and
the local runner asks this registry. Rejected: a function-level import of the
integration from the runner — an upward import where a registry does the job.

:func:`mcp_tool_fakes` turns one ``mcp_call`` into per-tool callables for the
in-memory Env, passing each call's frozen definition so the caller can compare
the live listing with it before the first call.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from composable_agents.core.canonical import Json

__all__ = [
    "McpCallerFactory",
    "accepted_keywords",
    "mcp_call_for",
    "mcp_tool_fakes",
    "register_mcp_caller_factory",
]

McpCallerFactory = Callable[[Sequence[Any], Mapping[str, str]], Any]
"""Builds a ready ``mcp_call`` (with an async ``aclose()``) from server descriptions and version pins."""

_FACTORY: list[McpCallerFactory] = []


def register_mcp_caller_factory(factory: McpCallerFactory) -> None:
    """Install the process's MCP caller factory (``composable_agents.integrations.mcp`` does on import)."""
    _FACTORY[:] = [factory]


def mcp_call_for(
    servers: Sequence[Any] | Callable[..., Any], *, pins: Mapping[str, Any] | None = None
) -> tuple[Callable[..., Any], Callable[[], Awaitable[None]] | None]:
    """``(mcp_call, aclose)`` for ``servers``: a ready callable is used as is (the caller owns it, no
    ``aclose``); a list of servers gets a fresh caller, checking ``pins`` (the deployment's
    ``mcp_servers:`` section) whenever it connects, that the run closes when it ends."""
    if callable(servers):
        return servers, None
    if not _FACTORY:
        msg = (
            "mcp_servers= needs the MCP integration: pip install 'composable-agents[mcp]' and build the "
            "servers with composable_agents.integrations.mcp.McpServer"
        )
        raise ImportError(msg)
    pinned = {str(k): v for k, v in (pins or {}).items() if isinstance(v, str) and v.strip() not in ("", "*")}
    caller = _FACTORY[0](list(servers), pinned)
    close = getattr(caller, "aclose", None)
    return caller, close


def mcp_tool_fakes(
    definitions: Mapping[str, Any], fakes: Mapping[str, Callable[..., Any]], mcp_call: Callable[..., Any]
) -> dict[str, Callable[..., Any]]:
    """``fakes`` plus, for every frozen MCP tool without one, a callable that asks ``mcp_call``."""
    out = dict(fakes)
    for key, definition in definitions.items():
        if key in out or getattr(definition, "kind", None) != "mcp" or "/" not in key:
            continue
        out[key] = _bound(mcp_call, key, definition)
    return out


def accepted_keywords(fn: Callable[..., Any], names: Sequence[str]) -> frozenset[str]:
    """Which of ``names`` ``fn`` takes as keywords (all of them when it takes ``**kwargs``)."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return frozenset()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return frozenset(names)
    return frozenset(n for n in names if n in params)


def _bound(mcp_call: Callable[..., Any], key: str, definition: Any) -> Callable[..., Any]:
    server, tool = key.split("/", 1)
    # a hand-written mcp_call(server, tool, value, idempotency_key) need not take the extras
    takes = accepted_keywords(mcp_call, ("principal", "definition"))

    async def call(value: Json, *, idempotency_key: str, principal: Json = None) -> Json:
        extra: dict[str, Any] = {}
        if "principal" in takes:
            extra["principal"] = principal
        if "definition" in takes:
            extra["definition"] = definition
        result = mcp_call(server, tool, value, idempotency_key, **extra)
        if hasattr(result, "__await__"):
            result = await result
        return result

    call.__name__ = f"mcp:{key}"
    return call
