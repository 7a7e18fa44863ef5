from typing import Any

from composable_agents import Pipeline, flow, pure, tool
from composable_agents.authoring.leaves import KeyedTool, NullaryTool, Pure, Tool


# A body whose types contain Any is still a typed leaf (mypy alone would call
# the decorator's overloads ambiguous and type the function as Any).
@tool(effect="read")
def load(row: dict[str, Any]) -> dict[str, Any]:
    return row


@tool(effect="write", idempotency="required")
def save(row: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
    return {"key": idempotency_key, **row}


@tool(effect="read")
def snapshot() -> dict[str, Any]:
    return {}


@tool(effect="write", idempotency="required")
def store(row: dict[str, Any], version: int, *, idempotency_key: str) -> dict[str, Any]:
    return {"key": idempotency_key, "version": version, **row}


@pure("ts.any_pairs")
def pairs(items: list[Any]) -> list[Any]:
    return items


a: Tool[dict[str, Any], dict[str, Any]] = load
b: KeyedTool[dict[str, Any], dict[str, Any]] = save
c: NullaryTool[dict[str, Any]] = snapshot
d: Pure[list[Any], list[Any]] = pairs
chain: Pipeline[dict[str, Any], dict[str, Any]] = load >> save


@flow
def keep(row: dict[str, Any]) -> dict[str, Any]:
    # The runtime fills a record tool's idempotency_key: the call may omit it.
    return store(row=load(row), version=1, retries=2)
