"""SPEC §22.8 as a property: generated JSON with a duplicate key is refused by every decoder.

A random JSON document gets one object's key repeated (at any depth, with a
different value). The shared strict loader, the IR decoder, plan decoding,
controller replies and capability manifests must each refuse it with their
own typed error; the same document without the duplicate parses as
``json.loads`` would.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from composable_agents.compiler.capabilities import CapabilityManifest
from composable_agents.core.codec import decode
from composable_agents.core.jsontext import loads_strict
from composable_agents.errors import CanonicalJSONError, IRDecodeError, StagedPlanRejected
from composable_agents.execution.agent_loop import ControllerError, parse_action
from composable_agents.execution.staged import parse_plan

_keys = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=6)
_scalars = st.none() | st.booleans() | st.integers(-(10**12), 10**12) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, min_size=1, max_size=4),
    max_leaves=20,
)


def _objects(value: Any) -> int:
    stack, n = [value], 0
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            n += 1
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return n


def _dump(value: Any, target: int, key_pick: int, extra: Any, counter: list[int]) -> str:
    """``json.dumps`` with object number ``target`` (pre-order) repeating one of its keys."""
    if isinstance(value, dict):
        index = counter[0]
        counter[0] += 1
        pairs = [(k, _dump(v, target, key_pick, extra, counter)) for k, v in value.items()]
        if index == target:
            key = list(value)[key_pick % len(value)]
            pairs.append((key, json.dumps(extra)))
        return "{" + ", ".join(f"{json.dumps(k)}: {v}" for k, v in pairs) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_dump(v, target, key_pick, extra, counter) for v in value) + "]"
    return json.dumps(value)


@given(
    doc=st.dictionaries(_keys, _values, min_size=1, max_size=4),
    where=st.integers(min_value=0, max_value=1000),
    key_pick=st.integers(min_value=0, max_value=10),
    extra=_scalars,
)
def test_a_duplicate_key_anywhere_is_refused_by_every_decoder(doc: dict[str, Any], where: int, key_pick: int, extra: Any) -> None:
    target = where % _objects(doc)
    text = _dump(doc, target, key_pick, extra, [0])
    clean = _dump(doc, -1, 0, None, [0])
    assert loads_strict(clean) == json.loads(clean)

    try:
        loads_strict(text)
    except CanonicalJSONError as exc:
        assert "duplicate object key" in str(exc)
    else:  # pragma: no cover - the property fails here
        raise AssertionError(f"duplicate key accepted: {text}")
    try:
        decode(text)
    except IRDecodeError as exc:
        assert "duplicate" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("IR decoder accepted a duplicate key")
    try:
        parse_plan(text)
    except StagedPlanRejected as exc:
        assert [d.code for d in exc.diagnostics] == ["PLAN_PARSE"]
    else:  # pragma: no cover
        raise AssertionError("plan decoding accepted a duplicate key")
    reply = parse_action(text, mode="permissive")
    assert isinstance(reply, ControllerError)
    manifest = CapabilityManifest.from_yaml(text)
    assert manifest.problems, text
    assert not manifest.allows_tool("anything-not-granted/evil")


def test_the_controller_duplicate_tool_attack() -> None:
    reply = parse_action('{"action": "call", "tool": "safe", "input": null, "tool": "evil"}', mode="permissive")
    assert isinstance(reply, ControllerError) and "duplicate object key 'tool'" in reply.reason
