"""Property tests: the compiled validator agrees with the reference ``jsonschema``.

``jsonschema`` is a test-only reference (never imported by the library). Two
properties: (1) on generated (schema, value) pairs from the supported subset,
``compile_schema(s).is_valid(v)`` equals ``Draft202012Validator(s).is_valid(v)``
and the error API is consistent with it; (2) for generated annotations, values
built from the annotation convert to JSON that validates against the derived
schema (both validators) and convert back to an equal Python value.
"""

# Optional[...] is built on purpose: it is one of the annotation forms under test.
# ruff: noqa: UP045

from __future__ import annotations

import dataclasses
import itertools
from typing import Any, Literal, Optional, TypedDict

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from composable_agents.core.schema import (
    compile_schema,
    from_json_value,
    schema_of,
    to_json_value,
    validator_for,
)

jsonschema = pytest.importorskip("jsonschema")

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KEYS = st.sampled_from(["a", "b", "c", "d"])
TYPES = ["null", "boolean", "integer", "number", "string", "array", "object"]
PATTERNS = ["^a", "b$", "[0-9]", "^$", "a.c", "^[a-c]*$"]

# --- values -------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 1, -1, 2, 1.0, 0.0, -0.0, 2.5, 1e300]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(alphabet="abc019", max_size=5),
)


def _containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=4).map(tuple),
        st.dictionaries(KEYS, children, max_size=4),
    )


json_values = st.recursive(scalars, _containers, max_leaves=12)
plain_json = st.recursive(
    scalars,
    lambda c: st.lists(c, max_size=3) | st.dictionaries(KEYS, c, max_size=3),
    max_leaves=6,
)


def _as_reference(value: Any) -> Any:
    """``jsonschema`` treats only ``list`` as an array: give it lists for tuples."""
    if isinstance(value, (list, tuple)):
        return [_as_reference(x) for x in value]
    if isinstance(value, dict):
        return {k: _as_reference(x) for k, x in value.items()}
    return value


# --- schemas ------------------------------------------------------------------------

enum_values = st.lists(
    st.one_of(
        scalars,
        st.lists(st.integers(0, 2) | st.booleans(), max_size=2),
        st.dictionaries(KEYS, st.integers(0, 1) | st.booleans(), max_size=1),
    ),
    min_size=1,
    max_size=4,
)
leaf_schemas = st.one_of(
    st.just({}),
    st.booleans(),
    st.sampled_from(TYPES).map(lambda t: {"type": t}),
    st.lists(st.sampled_from(TYPES), min_size=1, max_size=3, unique=True).map(
        lambda ts: {"type": ts}
    ),
    enum_values.map(lambda vs: {"enum": vs}),
    scalars.map(lambda v: {"const": v}),
    st.fixed_dictionaries(
        {},
        optional={
            "minimum": st.integers(-3, 3) | st.floats(-3, 3),
            "maximum": st.integers(-3, 3),
            "exclusiveMinimum": st.integers(-3, 3),
            "exclusiveMaximum": st.floats(-3, 3),
            "type": st.sampled_from(["integer", "number"]),
        },
    ),
    st.fixed_dictionaries(
        {},
        optional={
            "minLength": st.integers(0, 3),
            "maxLength": st.integers(0, 4),
            "pattern": st.sampled_from(PATTERNS),
            "type": st.just("string"),
        },
    ),
)


def _composite(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    child_list = st.lists(children, min_size=1, max_size=3)
    properties = st.dictionaries(KEYS, children, max_size=3)
    return st.one_of(
        st.fixed_dictionaries(
            {},
            optional={
                "type": st.just("array"),
                "items": children,
                "prefixItems": child_list,
                "minItems": st.integers(0, 3),
                "maxItems": st.integers(0, 4),
            },
        ),
        st.fixed_dictionaries(
            {},
            optional={
                "type": st.sampled_from(["object", ["object", "null"]]),
                "properties": properties,
                "required": st.lists(KEYS, max_size=3, unique=True),
                "additionalProperties": children,
                "minProperties": st.integers(0, 2),
                "maxProperties": st.integers(0, 3),
            },
        ),
        st.lists(children, min_size=1, max_size=3).map(
            lambda cs: {
                "type": "array",
                "prefixItems": cs,
                "items": False,
                "minItems": len(cs),
                "maxItems": len(cs),
            }
        ),
        child_list.map(lambda cs: {"prefixItems": cs, "items": False}),
        child_list.map(lambda cs: {"anyOf": cs}),
        child_list.map(lambda cs: {"oneOf": cs}),
        child_list.map(lambda cs: {"allOf": cs}),
        children.map(lambda c: {"not": c}),
        st.tuples(children, children).map(
            lambda pair: (
                {**pair[1], **pair[0]}
                if isinstance(pair[0], dict) and isinstance(pair[1], dict)
                else pair[0]
            )
        ),
    )


schemas = st.recursive(leaf_schemas, _composite, max_leaves=8).filter(
    lambda s: isinstance(s, (dict, bool))
)


@st.composite
def recursive_schemas(draw: st.DrawFn) -> dict[str, Any]:
    """A ``$defs`` schema whose definition refers to itself under items/properties."""
    leaf = draw(leaf_schemas)
    ref = {"$ref": "#/$defs/T"}
    body = draw(
        st.sampled_from(
            [
                {"anyOf": [leaf, {"type": "array", "items": ref}]},
                {
                    "type": "object",
                    "properties": {"v": leaf, "kids": {"type": "array", "items": ref}},
                    "required": ["v"],
                },
                {"type": "object", "additionalProperties": {"anyOf": [leaf, ref]}},
            ]
        )
    )
    return {"$defs": {"T": body}, "$ref": "#/$defs/T"}


def _agree(schema: Any, value: Any) -> None:
    ours = compile_schema(schema)
    reference = jsonschema.Draft202012Validator(schema)
    expected = reference.is_valid(_as_reference(value))
    event(f"valid={expected}")
    assert ours.is_valid(value) == expected, (schema, value)
    if expected:
        assert ours.errors(value) == []
        assert ours.first_error(value) is None
        ours.check(value)
    else:
        err = ours.first_error(value)
        assert err is not None
        assert err.path.startswith("$")
        assert len(err.value_repr) <= 80
        assert ours.errors(value)


@SETTINGS
@given(schemas, json_values)
def test_validator_agrees_with_jsonschema(schema: Any, value: Any) -> None:
    _agree(schema, value)


@SETTINGS
@given(recursive_schemas(), json_values)
def test_recursive_validator_agrees_with_jsonschema(schema: dict[str, Any], value: Any) -> None:
    _agree(schema, value)


@SETTINGS
@given(st.data())
def test_values_generated_from_a_schema_position_agree(data: st.DataObject) -> None:
    """Values taken from the schema's own enum/const lists hit the equal-to paths."""
    schema = data.draw(schemas)
    pool = _literals(schema) or [None]
    literal = st.sampled_from(pool)
    value = data.draw(literal | literal.map(_twist) | json_values)
    _agree(schema, value)


@SETTINGS
@given(st.data())
def test_enum_and_const_equality_agrees(data: st.DataObject) -> None:
    """JSON equality: ``True != 1``, ``1 == 1.0``, ``(1,) == [1]``, also nested."""
    values = data.draw(enum_values)
    literal = st.sampled_from(values)
    value = data.draw(literal | literal.map(_twist) | json_values)
    _agree({"enum": values}, value)
    _agree({"const": values[0]}, value)


def _twist(value: Any) -> Any:
    """A near miss for JSON equality: bools <-> ints, ints -> floats, lists -> tuples."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return bool(value) if value in (0, 1) else float(value)
    if isinstance(value, list):
        return tuple(_twist(x) for x in value)
    if isinstance(value, dict):
        return {k: _twist(x) for k, x in value.items()}
    return value


def _literals(node: Any) -> list[Any]:
    found: list[Any] = []
    if isinstance(node, dict):
        found.extend(node.get("enum", []))
        if "const" in node:
            found.append(node["const"])
        for key, sub in node.items():
            if key not in ("enum", "const"):
                found.extend(_literals(sub))
    elif isinstance(node, list):
        for sub in node:
            found.extend(_literals(sub))
    return found


@SETTINGS
@given(st.data())
def test_derived_schemas_agree_with_jsonschema(data: st.DataObject) -> None:
    """Derived schemas, checked against arbitrary JSON values (mostly rejections)."""
    tp = data.draw(annotations)
    value = data.draw(values_of(tp).map(lambda v: to_json_value(v, tp)) | json_values)
    _agree(schema_of(tp), value)


# --- annotations --------------------------------------------------------------------

_counter = itertools.count()


def _typed_dict(fields: dict[str, Any], total: bool) -> Any:
    return TypedDict(f"TD{next(_counter)}", fields, total=total)  # type: ignore[operator]


def _dataclass(fields: dict[str, Any]) -> Any:
    return dataclasses.make_dataclass(f"DC{next(_counter)}", list(fields.items()))


leaf_types = st.sampled_from(
    [int, str, float, bool, type(None), Any, Literal["x", "y"], Literal[1, True], Optional[int]]
)


def _compound_types(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    fields = st.dictionaries(st.sampled_from(["f", "g", "h"]), children, min_size=1, max_size=3)
    return st.one_of(
        children.map(lambda t: list[t]),  # type: ignore[valid-type]
        children.map(lambda t: dict[str, t]),  # type: ignore[valid-type]
        children.map(lambda t: tuple[t, ...]),  # type: ignore[valid-type]
        st.tuples(children, children).map(lambda p: tuple[p[0], p[1]]),  # type: ignore[valid-type]
        children.map(lambda t: Optional[t]),
        st.tuples(fields, st.booleans()).map(lambda p: _typed_dict(p[0], p[1])),
        fields.map(_dataclass),
    )


annotations = st.recursive(leaf_types, _compound_types, max_leaves=6)


def values_of(tp: Any) -> st.SearchStrategy[Any]:
    """Python values of annotation ``tp`` (dataclass instances, tuples, ...)."""
    if tp is int:
        return st.integers()
    if tp is str:
        return st.text(max_size=4)
    if tp is float:
        return st.floats(allow_nan=False, allow_infinity=False) | st.integers(-5, 5)
    if tp is bool:
        return st.booleans()
    if tp is type(None):
        return st.none()
    if tp is Any:
        return plain_json
    if dataclasses.is_dataclass(tp):
        kwargs = {f.name: values_of(f.type) for f in dataclasses.fields(tp)}
        return st.fixed_dictionaries(kwargs).map(lambda kw: tp(**kw))
    if hasattr(tp, "__required_keys__"):
        hints = tp.__annotations__
        return st.fixed_dictionaries(
            {k: values_of(hints[k]) for k in tp.__required_keys__},
            optional={k: values_of(hints[k]) for k in tp.__optional_keys__},
        )
    origin, args = getattr(tp, "__origin__", None), getattr(tp, "__args__", ())
    if origin is Literal:
        return st.sampled_from(args)
    if origin is list:
        return st.lists(values_of(args[0]), max_size=3)
    if origin is dict:
        return st.dictionaries(st.text(max_size=3), values_of(args[1]), max_size=3)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return st.lists(values_of(args[0]), max_size=3).map(tuple)
    if origin is tuple:
        return st.tuples(*(values_of(a) for a in args))
    return st.one_of(*(values_of(a) for a in args))  # Optional / Union


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_values_of_an_annotation_validate_and_round_trip(data: st.DataObject) -> None:
    tp = data.draw(annotations)
    value = data.draw(values_of(tp))
    encoded = to_json_value(value, tp)
    schema = schema_of(tp)
    assert validator_for(tp).is_valid(encoded), (tp, schema, encoded)
    assert jsonschema.Draft202012Validator(schema).is_valid(_as_reference(encoded))
    assert _no_tuples_or_dataclasses(encoded)
    assert from_json_value(encoded, tp) == value


def _no_tuples_or_dataclasses(value: Any) -> bool:
    if isinstance(value, tuple) or dataclasses.is_dataclass(value):
        return False
    if isinstance(value, list):
        return all(_no_tuples_or_dataclasses(x) for x in value)
    if isinstance(value, dict):
        return all(_no_tuples_or_dataclasses(x) for x in value.values())
    return True
