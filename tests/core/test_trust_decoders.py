"""SPEC §22.8: decoders reject duplicate keys, lone surrogates, unbounded nesting and huge numbers.

Every decoder that reads outside JSON — the IR decoder, plan decoding,
capability manifests (JSON and YAML) and controller replies — answers each
attack with its own typed error, never ``RecursionError``, ``OverflowError``,
``UnicodeEncodeError`` or a silently chosen last value.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from composable_agents.compiler.capabilities import CapabilityManifest
from composable_agents.core.codec import decode
from composable_agents.core.jsontext import loads_strict
from composable_agents.errors import CanonicalJSONError, IRDecodeError, StagedPlanRejected
from composable_agents.execution.agent_loop import CallTool, ControllerError, parse_action
from composable_agents.execution.staged import parse_plan

DUP_CALL = '{"op": "prim", "step": {"kind": "call", "tool": "safe", "tool": "evil"}}'


def _deep_list(n: int) -> Any:
    value: Any = []
    for _ in range(n):
        value = [value]
    return value


# -- the shared loader ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ('{"tool": "safe", "tool": "evil"}', "duplicate object key 'tool'"),
        ('{"a": {"b": 1, "b": 2}}', "duplicate object key 'b'"),
        ('["\\ud800"]', "lone surrogate"),
        ('{"k\\udfff": 1}', "lone surrogate"),
        ("[" * 100_000 + "]" * 100_000, "nested"),
        ("[" * 600 + "]" * 600, "nested deeper"),
        ("1" * 5000, "digits"),
        ('{"n": ' + "1" * 4300 + "}", "digits"),
        ("1e400", "too large"),
        ("NaN", "not JSON"),
        ("[1,", "not JSON"),
    ],
)
def test_loads_strict_rejects_with_a_typed_error(text: str, phrase: str) -> None:
    with pytest.raises(CanonicalJSONError, match=phrase):
        loads_strict(text)


def test_loads_strict_accepts_ordinary_json_and_surrogate_pairs() -> None:
    assert loads_strict('{"a": [1, 2.5, "\\ud83d\\ude00", null, true]}') == {"a": [1, 2.5, "\U0001f600", None, True]}
    assert loads_strict(b'{"x": 1}') == {"x": 1}


# -- the IR decoder -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        DUP_CALL,
        '{"op": "prim", "op": "ident", "step": {"kind": "call", "tool": "t"}}',
        '{"op": "prim", "step": {"kind": "call", "tool": "\\ud800"}}',
        "[" * 100_000 + "]" * 100_000,
        '{"op": "iter_up_to", "max": ' + "9" * 4000 + ', "body": {"op": "ident"}}',
        '{"op": "iter_up_to", "max": 1e400, "body": {"op": "ident"}}',
    ],
)
def test_ir_decoder_rejects_text_attacks(text: str) -> None:
    with pytest.raises(IRDecodeError):
        decode(text)


def test_ir_decoder_rejects_a_lone_surrogate_in_an_object() -> None:
    with pytest.raises(IRDecodeError, match="surrogate"):
        decode({"op": "prim", "step": {"kind": "call", "tool": "bad\ud800"}})


def test_ir_decoder_rejects_huge_numbers_in_objects() -> None:
    with pytest.raises(IRDecodeError):
        decode({"op": "iter_up_to", "max": 10**400, "body": {"op": "ident"}})


# -- plans ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        DUP_CALL,
        '{"plan": {"op": "ident"}, "plan": {"op": "ident"}}',
        '{"op": "prim", "step": {"kind": "call", "tool": "\\udc00"}}',
        "[" * 100_000 + "]" * 100_000,
        '{"op": "iter_up_to", "max": ' + "9" * 4000 + ', "body": {"op": "ident"}}',
    ],
)
def test_plan_decoding_rejects_as_plan_parse(reply: str) -> None:
    with pytest.raises(StagedPlanRejected) as info:
        parse_plan(reply)
    assert [d.code for d in info.value.diagnostics] == ["PLAN_PARSE"]


def test_plan_object_with_a_lone_surrogate_is_rejected() -> None:
    with pytest.raises(StagedPlanRejected):
        parse_plan({"op": "prim", "step": {"kind": "call", "tool": "t\ud800"}})


# -- controller replies --------------------------------------------------------------------------


def test_parse_action_never_raises_on_a_very_deep_value() -> None:
    deep = _deep_list(100_000)
    for reply in ({"action": "finish", "value": deep}, {"action": "call", "tool": "t", "input": deep}, deep):
        out = parse_action(reply)
        assert isinstance(out, ControllerError)
        out = parse_action(reply, mode="permissive")
        assert isinstance(out, ControllerError)


def test_parse_action_rejects_duplicate_keys_in_text() -> None:
    reply = '{"action": "call", "tool": "safe", "input": 1, "tool": "evil"}'
    out = parse_action(reply, mode="permissive")
    assert isinstance(out, ControllerError) and "duplicate" in out.reason
    assert parse_action('{"action": "call", "tool": "safe", "input": 1}', mode="permissive") == CallTool("safe", 1)


def test_parse_action_rejects_lone_surrogates_and_huge_numbers() -> None:
    assert isinstance(parse_action({"action": "call", "tool": "t\ud800", "input": 1}), ControllerError)
    assert isinstance(parse_action('{"action": "finish", "value": 1e400}', mode="permissive"), ControllerError)


# -- capability manifests ------------------------------------------------------------------------


def _invalid(manifest: CapabilityManifest) -> list[str]:
    return [p.code for p in manifest.problems]


def test_duplicate_yaml_sections_do_not_widen_a_grant() -> None:
    text = "tools:\n  - {name: tr_read, effect: read}\ntools:\n  - tr_read\n  - tr_wire\n"
    manifest = CapabilityManifest.from_yaml(text)
    assert _invalid(manifest) == ["CAP_MANIFEST_INVALID"]
    assert "duplicate key 'tools'" in manifest.problems[0].message
    assert not manifest.allows_tool("tr_wire") and not manifest.allows_tool("tr_read")  # fails closed


def test_duplicate_grant_keys_are_rejected() -> None:
    text = "tools:\n  - {name: tr_wire, approval: required, approval: none}\n"
    manifest = CapabilityManifest.from_yaml(text)
    assert _invalid(manifest) == ["CAP_MANIFEST_INVALID"]
    assert not manifest.allows_tool("tr_wire")


@pytest.mark.parametrize(
    "text",
    [
        "tools: " + "[" * 5000 + "]" * 5000,
        "tools:\n" + "".join(" " * (2 * i) + "-\n" for i in range(5000)),
        "budget: {cost: " + "9" * 5000 + "}",
    ],
)
def test_yaml_attacks_are_problems_not_crashes(text: str) -> None:
    manifest = CapabilityManifest.from_yaml(text)
    assert _invalid(manifest) == ["CAP_MANIFEST_INVALID"]
    assert manifest.tools == ()  # an unreadable manifest denies everything


def test_a_4000_digit_budget_is_a_problem_not_an_overflow() -> None:
    for doc in ({"budget": {"cost": 10**4000}}, {"budget": {"tokens": 10**4000}}, {"budget": {"wallSeconds": -(10**4000)}}):
        manifest = CapabilityManifest.from_dict(doc)
        assert _invalid(manifest) == ["CAP_MANIFEST_INVALID"]
    text = "budget: {cost: " + "9" * 4000 + "}"
    assert _invalid(CapabilityManifest.from_yaml(text)) == ["CAP_MANIFEST_INVALID"]


def test_a_deep_manifest_dict_is_a_problem() -> None:
    manifest = CapabilityManifest.from_dict({"tools": _deep_list(5000)})
    assert _invalid(manifest) == ["CAP_MANIFEST_INVALID"]


def test_json_manifest_text_is_strict_too() -> None:
    text = json.dumps({"tools": ["tr_read"]})[:-1] + ', "tools": ["tr_read", "tr_wire"]}'
    manifest = CapabilityManifest.from_yaml(text)  # JSON is YAML: the same duplicate rule holds
    assert _invalid(manifest) == ["CAP_MANIFEST_INVALID"]
    assert not manifest.allows_tool("tr_wire")


def test_huge_budgets_are_typed_errors_everywhere() -> None:
    from composable_agents.agents.agent import Agent
    from composable_agents.errors import CompositionError

    with pytest.raises(CompositionError, match="at most 1e15"):
        Agent("trd.big", budget=10**4000)
    with pytest.raises(CompositionError, match="at most 1e15"):
        Agent("trd.big.map", budget={"cost": 10**4000})
    with pytest.raises(IRDecodeError, match="budget"):
        decode({"op": "app", "controller": "c", "budget": {"cost": 10**4000}})
