"""Decode fuzzing: mutated valid IR documents either decode or raise ``IRDecodeError``.

Never ``KeyError``, ``TypeError``, ``RecursionError``, ``OverflowError`` or
anything else. Mutations: drop/add keys, swap a value's type, inject
non-finite numbers and non-JSON values, deep nesting, duplicate ids, and
truncated text. A document that decodes must also re-encode and round-trip.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import ir_nodes, json_values

from composable_agents.core.canonical import canonical_dumps
from composable_agents.core.ir import Node
from composable_agents.errors import IRDecodeError

Path = tuple[Any, ...]


def _containers(doc: Any, path: Path = ()) -> list[Path]:
    out: list[Path] = []
    stack: list[tuple[Any, Path]] = [(doc, path)]
    while stack:
        value, where = stack.pop()
        if isinstance(value, dict):
            out.append(where)
            stack.extend((v, (*where, k)) for k, v in value.items())
        elif isinstance(value, list):
            out.append(where)
            stack.extend((v, (*where, i)) for i, v in enumerate(value))
    return out


def _get(doc: Any, path: Path) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def _set(doc: Any, path: Path, value: Any) -> Any:
    if not path:
        return value
    _get(doc, path[:-1])[path[-1]] = value
    return doc


_weird = st.one_of(
    json_values(4),
    st.sampled_from([float("nan"), float("inf"), float("-inf"), 10**400, -(10**5000), True, False, None,
                     "", "x" * 300, {1: 2}, {None: "k"}, (1, 2), {1, 2}, b"bytes", object(), 1j]),
).map(copy.deepcopy)  # never share a mutable constant between examples
_keys = st.sampled_from(["op", "id", "steps", "branches", "body", "pure", "args", "step", "kind", "tool",
                         "reasoner", "ref", "contract", "shape", "merge", "k", "hedgeMs", "reducer",
                         "maxParallel", "pred", "selector", "cases", "max", "until", "planner",
                         "controller", "tools", "subflows", "budget", "maxRounds", "init", "ann", "ctx",
                         "name", "costUsd", "effect", "scope", "bogus"])


def _mutate(doc: Any, data: st.DataObject) -> Any:
    doc = copy.deepcopy(doc)
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        spots = _containers(doc)
        if not spots:
            return doc
        path = data.draw(st.sampled_from(spots), label="path")
        target = _get(doc, path)
        action = data.draw(
            st.sampled_from(["drop", "add", "swap", "nan", "nest", "wrap_node", "dup_id", "empty"]),
            label="action",
        )
        if isinstance(target, dict) and target and action == "drop":
            key = data.draw(st.sampled_from(sorted(target, key=str)), label="key")
            del target[key]
        elif isinstance(target, dict) and action == "add":
            target[data.draw(_keys | st.text(max_size=4), label="new key")] = data.draw(_weird, label="v")
        elif action == "swap":
            if isinstance(target, dict) and target:
                key = data.draw(st.sampled_from(sorted(target, key=str)), label="key")
                target[key] = data.draw(_weird, label="value")
            elif isinstance(target, list) and target:
                target[data.draw(st.integers(0, len(target) - 1))] = data.draw(_weird, label="value")
            else:
                doc = _set(doc, path, data.draw(_weird, label="value"))
        elif action == "nan":
            if isinstance(target, dict):
                target[data.draw(_keys)] = float("nan")
            elif isinstance(target, list):
                target.append(float("inf"))
        elif action == "nest":
            depth = data.draw(st.sampled_from([10, 200, 600, 3000]), label="depth")
            value: Any = target
            for _ in range(depth):
                value = [value] if depth % 2 else {"k": value}
            doc = _set(doc, path, value)
        elif action == "wrap_node":
            depth = data.draw(st.sampled_from([5, 127, 129, 400, 2000]), label="node depth")
            as_seq = data.draw(st.booleans(), label="wrap in seq")
            value = target
            for _ in range(depth):
                value = {"op": "seq", "steps": [value]} if as_seq else {"op": "each", "body": value}
            doc = _set(doc, path, value)
        elif action == "dup_id":
            ids = [p for p in _containers(doc) if isinstance(_get(doc, p), dict) and "id" in _get(doc, p)]
            if ids and isinstance(target, dict):
                target["id"] = _get(doc, data.draw(st.sampled_from(ids)))["id"]
        elif action == "empty":
            doc = _set(doc, path, type(target)())
    return doc


def _decode_or_fail(doc: Any) -> None:
    try:
        node = Node.from_json(doc)
    except IRDecodeError as exc:
        assert isinstance(exc.path, str) and exc.path.startswith("$")
        return
    # Whatever decodes must re-encode and round-trip.
    text = canonical_dumps(node.to_json())
    assert canonical_dumps(Node.from_json(text).to_json()) == text


@settings(max_examples=200)
@given(ir_nodes(8), st.data())
def test_mutated_documents_decode_or_raise_ir_decode_error(node: Node, data: st.DataObject) -> None:
    doc = _mutate(node.to_json(), data)
    _decode_or_fail(doc)


@settings(max_examples=150)
@given(ir_nodes(8), st.data())
def test_truncated_or_spliced_texts_decode_or_raise(node: Node, data: st.DataObject) -> None:
    text = canonical_dumps(node.to_json())
    cut = data.draw(st.integers(0, len(text)), label="cut")
    mode = data.draw(st.sampled_from(["truncate", "splice", "bytes"]), label="mode")
    if mode == "truncate":
        fuzzed: Any = text[:cut]
    elif mode == "splice":
        fuzzed = text[:cut] + data.draw(st.sampled_from(["NaN", "Infinity", "]", "}", ",", '"', "1e999", "\\"]))
        fuzzed += text[cut:]
    else:
        raw = text.encode("utf-8")
        fuzzed = raw[:cut] + bytes([data.draw(st.integers(0, 255))]) + raw[cut + 1 :]
    _decode_or_fail(fuzzed)


@settings(max_examples=150)
@given(_weird)
def test_arbitrary_values_decode_or_raise(value: Any) -> None:
    _decode_or_fail(value)
    _decode_or_fail({"op": "seq", "steps": [value]})
    _decode_or_fail({"op": "arr", "pure": "p", "args": {"x": value}})
