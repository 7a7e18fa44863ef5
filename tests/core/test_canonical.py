"""Tests for composable_agents.core.canonical: canonical JSON and content hashes."""

from __future__ import annotations

import enum
import hashlib
import json
import re

import pytest

from composable_agents.core.canonical import (
    MAX_JSON_DEPTH,
    canonical_bytes,
    canonical_dumps,
    check_json,
    content_hash,
    copy_json,
    hash_bytes,
)
from composable_agents.errors import CanonicalJSONError


def test_keys_are_sorted_at_every_level() -> None:
    text = canonical_dumps({"b": 1, "a": {"z": 1, "y": [{"d": 0, "c": 0}]}})
    assert text == '{"a":{"y":[{"c":0,"d":0}],"z":1},"b":1}'


def test_separators_are_compact() -> None:
    text = canonical_dumps({"a": [1, 2, {"b": None}], "c": True})
    assert " " not in text
    assert text == '{"a":[1,2,{"b":null}],"c":true}'


def test_non_ascii_is_kept_as_utf8() -> None:
    value = {"name": "Zoë — 東京"}
    text = canonical_dumps(value)
    assert "Zoë — 東京" in text
    assert "\\u" not in text
    assert canonical_bytes(value) == text.encode("utf-8")


def test_insertion_order_does_not_change_the_text() -> None:
    assert canonical_dumps({"x": 1, "y": 2}) == canonical_dumps({"y": 2, "x": 1})


def test_tuples_travel_as_arrays() -> None:
    assert canonical_dumps({"t": (1, "a", (2, 3))}) == '{"t":[1,"a",[2,3]]}'
    assert copy_json({"t": (1, (2,))}) == {"t": [1, [2]]}
    assert type(copy_json((1,))) is list


def test_round_trips_through_json_loads() -> None:
    value = {"f": 1.5, "i": -3, "s": "x", "n": None, "b": False, "l": [[], {}]}
    assert json.loads(canonical_dumps(value)) == value


def test_enum_subclasses_encode_as_their_value() -> None:
    class Colour(enum.StrEnum):
        RED = "red"

    class Size(enum.IntEnum):
        BIG = 3

    assert canonical_dumps([Colour.RED, Size.BIG]) == '["red",3]'


@pytest.mark.parametrize(
    ("value", "path"),
    [
        (float("nan"), "$"),
        ({"a": float("inf")}, "$.a"),
        ({"a": [1, float("-inf")]}, "$.a[1]"),
        ({"a": {1, 2}}, "$.a"),
        ({"a": [b"bytes"]}, "$.a[0]"),
        ({"a": {"b": object()}}, "$.a.b"),
        ([{"ok": 1}, {"x": frozenset()}], "$[1].x"),
        ({"a": 1j}, "$.a"),
    ],
)
def test_non_json_values_raise_with_their_path(value: object, path: str) -> None:
    with pytest.raises(CanonicalJSONError) as info:
        canonical_dumps(value)
    assert info.value.path == path
    assert path in str(info.value)
    with pytest.raises(CanonicalJSONError):
        content_hash(value)
    with pytest.raises(CanonicalJSONError):
        check_json(value)


@pytest.mark.parametrize("key", [1, 1.5, None, ("a",), True])
def test_non_string_keys_raise(key: object) -> None:
    with pytest.raises(CanonicalJSONError) as info:
        canonical_dumps({"outer": {key: 1}})
    assert info.value.path == "$.outer"
    assert repr(key) in str(info.value)


def test_error_is_also_a_type_error() -> None:
    with pytest.raises(TypeError):
        canonical_dumps({1, 2})


def test_path_prefix_is_honoured() -> None:
    with pytest.raises(CanonicalJSONError) as info:
        check_json({"a": float("nan")}, path="$.args")
    assert info.value.path == "$.args.a"


def test_deep_nesting_fails_cleanly_without_recursion_error() -> None:
    value: object = 0
    for _ in range(MAX_JSON_DEPTH + 10):
        value = [value]
    with pytest.raises(CanonicalJSONError) as info:
        check_json(value)
    assert "deeper" in str(info.value)


def test_nesting_just_under_the_limit_is_accepted() -> None:
    value: object = 0
    for _ in range(MAX_JSON_DEPTH - 1):
        value = {"k": value}
    check_json(value)


HASH_RE = re.compile(r"^sha256:[0-9a-f]{64}$")


def test_hash_format_and_value() -> None:
    value = {"b": [1, 2], "a": "é"}
    digest = content_hash(value)
    assert HASH_RE.match(digest)
    expected = hashlib.sha256('{"a":"é","b":[1,2]}'.encode()).hexdigest()
    assert digest == "sha256:" + expected
    assert hash_bytes(b"") == "sha256:" + hashlib.sha256(b"").hexdigest()


def test_hash_ignores_key_order_but_not_content() -> None:
    assert content_hash({"a": 1, "b": 2}) == content_hash({"b": 2, "a": 1})
    assert content_hash({"a": 1}) != content_hash({"a": 2})
    assert content_hash([1, 2]) != content_hash([2, 1])
    assert content_hash(1) != content_hash("1")
    assert content_hash((1, 2)) == content_hash([1, 2])


def test_copy_json_is_deep_and_checked() -> None:
    original = {"a": [{"b": 1}]}
    copied = copy_json(original)
    assert copied == original
    copied["a"][0]["b"] = 2
    assert original["a"][0]["b"] == 1
    with pytest.raises(CanonicalJSONError):
        copy_json({"a": float("nan")})


def test_integers_too_long_to_encode_raise_a_canonical_error() -> None:
    # Regression: such ints passed the check and then failed inside the
    # encoder with a bare ValueError (Python's int-to-text digit limit).
    with pytest.raises(CanonicalJSONError) as info:
        canonical_dumps({"a": [10**5000]})
    assert info.value.path == "$.a[0]"
    big = 10**4000
    assert canonical_dumps(big) == str(big)
