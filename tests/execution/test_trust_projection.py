"""SPEC §22.9: the projection is bounded in bytes as well as events."""

from __future__ import annotations

import tracemalloc
from typing import Any

import pytest

from composable_agents import deploy, iter_up_to, pure
from composable_agents.authoring.kernel import arr
from composable_agents.execution.projection import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_VALUE_BYTES,
    ELIDED_KEY,
    Recorder,
    value_bytes,
)

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pure("trust.proj.grow")
def grow(s: str) -> str:
    return s + "x" * 10_000


def test_growing_loop_keeps_the_projection_within_its_byte_budget() -> None:
    rounds = 400  # the value reaches 4 MB; every round's value is distinct
    flow = iter_up_to(rounds, arr("trust.proj.grow"))
    tracemalloc.start()
    try:
        result = deploy(flow).dry_run("")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.status == "ok" and len(result.value) == rounds * 10_000
    # Unbounded, the projection would hold sum(10 KB * r) = ~800 MB of strings.
    assert peak < 120 * 1024 * 1024, peak
    proj = result.projection
    elided = [v for v in proj.values if isinstance(v, dict) and ELIDED_KEY in v]
    assert elided, "large values are replaced by a marker"
    marker = elided[-1][ELIDED_KEY]
    assert marker["type"] == "str" and marker["bytes"] > DEFAULT_MAX_VALUE_BYTES
    kept = sum(value_bytes(v) for v in proj.values)
    assert kept <= DEFAULT_MAX_BYTES
    proj.to_json()  # still exportable


def test_recorder_byte_budget_drops_oldest_events_deterministically() -> None:
    from composable_agents.core.kinds import Op, Shape
    from composable_agents.execution.projection import NodeMeta

    meta = NodeMeta(index=0, node_id="$", op=Op.ARR, shape=Shape.PIPELINE, parent=None, prev=None, label="x", order=0)
    rec = Recorder(max_events=1000, max_bytes=10_000, max_value_bytes=2_000)
    for i in range(100):
        rec.add(meta, (i,), i, "y" * 1_000)
    proj = rec.projection()
    assert proj.dropped > 0
    assert len(proj.events) < 100
    acts = [e["activation"] for e in proj.events]
    assert acts[-1] == "$[99]"  # the most recent activations are the ones kept
    small = Recorder(max_value_bytes=100)
    small.add(meta, (), 1, {"big": "z" * 500})
    (value,) = [v for v in small.projection().values if isinstance(v, dict)]
    assert value[ELIDED_KEY]["type"] == "dict"


@pytest.mark.parametrize("value", [1, "abc", [1, 2, 3], {"a": [1, {"b": "cc"}]}, None, True, 1.5])
def test_value_bytes_is_close_to_the_json_size(value: Any) -> None:
    import json

    assert value_bytes(value) >= len(json.dumps(value)) // 2
