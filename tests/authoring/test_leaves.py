"""Typed leaves: tool/pure classes, direct calls, contracts, reasoners and think, trace-hook delegation."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from typing import Any, TypedDict

import pytest

from composable_agents import Reasoner, pure, think, tool
from composable_agents.authoring.leaves import (
    TRACE_HOOKS,
    KeyedTool,
    NullaryTool,
    PromptlessThink,
    Pure,
    RecordTool,
    Think,
    ThinkByName,
    Tool,
)
from composable_agents.core.kinds import Effect, Idempotency
from composable_agents.errors import CompositionError


class Order(TypedDict):
    sku: str
    qty: int


@tool(effect="read", name="tl_price")
def price(order: Order) -> float:
    return order["qty"] * 2.5


@tool(effect="write", idempotent=True, name="tl_file")
def file_ticket(title: str, priority: int = 3) -> str:
    return f"{title}/{priority}"


@tool(effect="read", name="tl_now")
def now() -> int:
    return 42


@tool(effect="write", name="tl_charge")
def charge(cents: int, *, idempotency_key: str) -> str:
    return f"{cents}@{idempotency_key}"


@tool(effect="read", name="tl_fetch")
async def fetch(url: str) -> str:
    return url.upper()


@pure("tl.double")
def double(x: int) -> int:
    return x * 2


def test_tool_classes_follow_the_parameter_count() -> None:
    assert type(price) is Tool
    assert type(file_ticket) is RecordTool
    assert type(now) is NullaryTool
    assert type(charge) is KeyedTool
    assert price.in_type is Order and price.out_type is float
    assert file_ticket.in_type == Mapping[str, Any]
    assert now.in_type is type(None)


def test_direct_calls_run_the_body() -> None:
    assert price({"sku": "a", "qty": 2}) == 5.0
    assert file_ticket("printer", 1) == "printer/1"
    assert now() == 42
    assert charge(5, idempotency_key="k1") == "5@k1"
    assert asyncio.run(fetch("x")) == "X"
    assert double(4) == 8


def test_direct_calls_ignore_step_options() -> None:
    assert price({"sku": "a", "qty": 2}, retries=3, timeout_s=1.0, name="p") == 5.0
    assert charge(5, idempotency_key="k", retries=2) == "5@k"


def test_beartype_rejects_a_wrong_argument_at_the_call() -> None:
    with pytest.raises(Exception, match="(?i)violat|type"):
        double("4")  # type: ignore[arg-type]


def test_contracts_carry_schemas_effect_and_idempotency() -> None:
    c = price.contract
    assert c.effect is Effect.READ
    assert c.input_schema["required"] == ["qty", "sku"] or set(c.input_schema["required"]) == {
        "qty",
        "sku",
    }
    assert c.output_schema == {"type": "number"}
    rec = file_ticket.contract
    assert rec.idempotency is Idempotency.NATIVE
    assert rec.input_schema["required"] == ["title"]
    assert set(rec.input_schema["properties"]) == {"title", "priority"}
    assert charge.definition.wants_key
    assert "idempotency_key" not in charge.definition.params


def test_pure_leaf() -> None:
    assert type(double) is Pure
    assert double.pure_name == "tl.double"
    assert double.in_type is int and double.out_type is int


def test_think_classes() -> None:
    loose = Reasoner("tl_loose", "m", reply=Order)
    typed = Reasoner("tl_typed", "m", prompt=Order, reply=float)
    t1 = think(loose)
    t2 = think(typed)
    t3 = think("tl_by_name")
    assert type(t1) is PromptlessThink and t1.in_type is Any and t1.out_type is Order
    assert type(t2) is Think and t2.in_type is Order and t2.out_type is float
    assert type(t3) is ThinkByName and t3.in_type is Any
    assert t1.reasoner_name == "tl_loose"


def test_think_outside_a_flow_refuses_values() -> None:
    with pytest.raises(CompositionError, match="only inside a @flow"):
        think(Reasoner("tl_x", "m"), "value")
    with pytest.raises(CompositionError, match="runs only inside a deployment"):
        think("tl_y")("value")


def test_bad_reasoner_arguments() -> None:
    with pytest.raises(CompositionError):
        Reasoner("", "m")
    with pytest.raises(CompositionError):
        think(3)  # type: ignore[call-overload]


@pytest.fixture
def hook() -> Iterator[list[tuple[object, tuple[Any, ...], dict[str, Any]]]]:
    seen: list[tuple[object, tuple[Any, ...], dict[str, Any]]] = []

    def record(leaf: object, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if args and args[0] == "HANDLE":
            seen.append((leaf, args, kwargs))
            return "STEP"
        return NotImplemented

    TRACE_HOOKS.append(record)
    try:
        yield seen
    finally:
        TRACE_HOOKS.remove(record)


def test_calls_ask_trace_hooks_first(
    hook: list[tuple[object, tuple[Any, ...], dict[str, Any]]],
) -> None:
    assert price("HANDLE", retries=3, timeout_s=1.5) == "STEP"  # type: ignore[arg-type]
    assert double("HANDLE") == "STEP"  # type: ignore[arg-type]
    assert think(Reasoner("tl_h", "m"))("HANDLE", name="s") == "STEP"
    assert [(leaf, kw) for leaf, _, kw in hook] == [
        (price, {"retries": 3, "timeout_s": 1.5}),
        (double, {}),
        (hook[2][0], {"name": "s"}),
    ]
    # a declined call runs the body
    assert price({"sku": "a", "qty": 1}) == 2.5


def test_tool_names_are_checked() -> None:
    with pytest.raises(CompositionError, match="reserved"):
        tool(name="__mine__")(lambda x: x)
