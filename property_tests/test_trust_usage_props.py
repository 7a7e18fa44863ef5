"""Property: generated ``__usage__`` records are either credited exactly or rejected, never trusted blindly (§22.2)."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from composable_agents.errors import InvalidUsage
from composable_agents.execution.interpreter import split_usage
from composable_agents.execution.limits import Ledger

numbers = st.one_of(
    st.integers(min_value=-10**6, max_value=10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=4),
    st.none(),
    st.lists(st.integers(), max_size=2),
)
records = st.dictionaries(st.sampled_from(["tokens", "cost", "input_tokens", "output_tokens", "other"]), numbers, max_size=4)


def _good_count(x: Any) -> bool:
    return type(x) is int and x >= 0


def _good_cost(x: Any) -> bool:
    return type(x) in (int, float) and math.isfinite(x) and x >= 0


def _acceptable(rec: dict[str, Any]) -> bool:
    for key in ("tokens", "input_tokens", "output_tokens"):
        if key in rec and rec[key] is not None and not _good_count(rec[key]):
            return False
    return not ("cost" in rec and rec["cost"] is not None and not _good_cost(rec["cost"]))


@given(records)
def test_usage_records_are_checked(rec: dict[str, Any]) -> None:
    reply = {"__value__": "v", "__usage__": rec}
    if not _acceptable(rec):
        try:
            split_usage(reply)
        except InvalidUsage:
            return
        raise AssertionError(f"accepted {rec!r}")
    value, usage = split_usage(reply)
    assert value == "v"
    assert usage is not None
    assert type(usage["tokens"]) is int and usage["tokens"] >= 0
    if "cost" in usage:
        assert math.isfinite(usage["cost"]) and usage["cost"] >= 0


@given(st.dictionaries(st.sampled_from(["calls", "cost", "tokens"]), numbers, max_size=3))
def test_remote_usage_charged_to_a_ledger_never_lowers_it(rec: dict[str, Any]) -> None:
    ledger = Ledger(cost=1.0, tokens=100)
    ledger.cost, ledger.tokens = 0.5, 10
    try:
        ledger.charge(rec)
    except InvalidUsage:
        assert ledger.cost == 0.5 and ledger.tokens == 10  # nothing credited
        return
    assert ledger.cost >= 0.5 and ledger.tokens >= 10
    assert math.isfinite(ledger.cost)
