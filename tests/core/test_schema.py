"""Tests for composable_agents.core.schema: derivation, compiled checks, conversion."""

# The old spellings (Optional, Union, Literal[None]) are exercised on purpose.
# ruff: noqa: UP007, UP045, PYI061

import collections
import dataclasses
import pickle
import typing
import warnings
from collections.abc import Mapping, Sequence
from typing import (
    Annotated,
    Any,
    Generic,
    Literal,
    NewType,
    NotRequired,
    Optional,
    Required,
    TypeVar,
    Union,
)

import pytest
from typing_extensions import ReadOnly, TypedDict

from composable_agents.core.schema import (
    SchemaError,
    SchemaViolation,
    SchemaWarning,
    Validator,
    canonical_schema_text,
    compile_schema,
    converter_for,
    from_json_value,
    is_any,
    schema_of,
    to_json_value,
    validator_for,
)
from composable_agents.errors import ComposableAgentsError

# --- annotations used below ---------------------------------------------------------


class Address(TypedDict):
    street: str
    zip_code: str


class Person(TypedDict):
    name: str
    age: int
    email: NotRequired[str]
    address: Address


class Partial(TypedDict, total=False):
    a: int
    b: Required[str]


class Quoted(TypedDict):
    """String annotations, including Required/NotRequired inside the string."""

    x: "int"
    y: "NotRequired[list[str]]"
    z: "Optional[Address]"


class Node(TypedDict):
    value: int
    children: "list[Node]"


class Closed(TypedDict, closed=True):
    a: int


class WithRO(TypedDict):
    a: ReadOnly[int]


@dataclasses.dataclass
class Point:
    x: int
    y: float = 0.0


@dataclasses.dataclass
class Shape:
    name: str
    corners: list[Point]
    bbox: tuple[Point, Point]
    tag: Optional[str] = None
    meta: dict[str, Any] = dataclasses.field(default_factory=dict)
    cached: int = dataclasses.field(default=0, init=False)


@dataclasses.dataclass
class Tree:
    label: str
    kids: "list[Tree]" = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Odd:
    """Mutual recursion: Odd -> Even -> Odd."""

    next: "Optional[Even]" = None


@dataclasses.dataclass
class Even:
    next: Optional[Odd] = None


T = TypeVar("T")


@dataclasses.dataclass
class Box(Generic[T]):
    item: T


@dataclasses.dataclass
class Chain(Generic[T]):
    item: T
    next: "Optional[Chain[T]]" = None


UserId = NewType("UserId", str)


class Holder(TypedDict):
    pair: tuple[int, str]
    point: Point


# --- derivation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tp", "expected"),
    [
        (Any, {}),
        (object, {}),
        (None, {"type": "null"}),
        (type(None), {"type": "null"}),
        (bool, {"type": "boolean"}),
        (int, {"type": "integer"}),
        (float, {"type": "number"}),
        (str, {"type": "string"}),
        (list, {"type": "array"}),
        (list[int], {"type": "array", "items": {"type": "integer"}}),
        (list[Any], {"type": "array"}),
        (typing.List[str], {"type": "array", "items": {"type": "string"}}),  # noqa: UP006
        (Sequence[bool], {"type": "array", "items": {"type": "boolean"}}),
        (dict, {"type": "object"}),
        (dict[str, int], {"type": "object", "additionalProperties": {"type": "integer"}}),
        (Mapping[str, Any], {"type": "object"}),
        (dict[UserId, float], {"type": "object", "additionalProperties": {"type": "number"}}),
        (
            tuple[int, str],
            {
                "type": "array",
                "prefixItems": [{"type": "integer"}, {"type": "string"}],
                "items": False,
                "minItems": 2,
                "maxItems": 2,
            },
        ),
        (tuple[int, ...], {"type": "array", "items": {"type": "integer"}}),
        (tuple, {"type": "array"}),
        (tuple[()], {"type": "array", "maxItems": 0}),
        (Optional[int], {"type": ["integer", "null"]}),
        (Union[str, int, None], {"type": ["integer", "null", "string"]}),
        (int | str, {"type": ["integer", "string"]}),
        (str | int, {"type": ["integer", "string"]}),
        (int | Any, {}),
        (
            Optional[list[int]],
            {"anyOf": [{"type": "array", "items": {"type": "integer"}}, {"type": "null"}]},
        ),
        (Literal["a"], {"const": "a"}),
        (Literal["b", "a"], {"enum": ["a", "b"]}),
        (Literal[1, True, None, "x"], {"enum": ["x", 1, None, True]}),
        (Annotated[int, "meta"], {"type": "integer"}),
        (
            Annotated[list[Annotated[str, 1]], "meta"],
            {"type": "array", "items": {"type": "string"}},
        ),
        (UserId, {"type": "string"}),
        (T, {}),
        (TypeVar("B", bound=int), {"type": "integer"}),
        ("int", {"type": "integer"}),
    ],
)
def test_derivation(tp: object, expected: dict[str, Any]) -> None:
    assert schema_of(tp) == expected
    assert canonical_schema_text(schema_of(tp)) == canonical_schema_text(expected)


def test_typeddict_required_and_extra_keys_allowed() -> None:
    address = {
        "type": "object",
        "properties": {"street": {"type": "string"}, "zip_code": {"type": "string"}},
        "required": ["street", "zip_code"],
    }
    assert schema_of(Person) == {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "age": {"type": "integer"},
            "email": {"type": "string"},
            "address": address,
        },
        "required": ["name", "age", "address"],
    }
    assert schema_of(Partial) == {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "string"}},
        "required": ["b"],
    }
    assert "additionalProperties" not in schema_of(Person)
    assert schema_of(WithRO) == {
        "type": "object",
        "properties": {"a": {"type": "integer"}},
        "required": ["a"],
    }


def test_string_annotations_resolve_with_required_markers() -> None:
    schema = schema_of(Quoted)
    assert schema["required"] == ["x", "z"]
    assert schema["properties"]["x"] == {"type": "integer"}
    assert schema["properties"]["y"] == {"type": "array", "items": {"type": "string"}}
    assert schema["properties"]["z"]["anyOf"][1] == {"type": "null"}


def test_closed_typeddict_rejects_extra_keys() -> None:
    assert schema_of(Closed) == {
        "type": "object",
        "properties": {"a": {"type": "integer"}},
        "required": ["a"],
        "additionalProperties": False,
    }


def test_dataclass_fields_with_defaults_not_required() -> None:
    assert schema_of(Point) == {
        "type": "object",
        "properties": {"x": {"type": "integer"}, "y": {"type": "number"}},
        "required": ["x"],
    }
    shape = schema_of(Shape)
    assert shape["required"] == ["name", "corners", "bbox"]
    assert list(shape["properties"]) == ["name", "corners", "bbox", "tag", "meta", "cached"]
    assert shape["properties"]["bbox"]["prefixItems"] == [schema_of(Point), schema_of(Point)]
    assert shape["properties"]["meta"] == {"type": "object"}


def test_generic_dataclass() -> None:
    assert schema_of(Box[int]) == {
        "type": "object",
        "properties": {"item": {"type": "integer"}},
        "required": ["item"],
    }
    assert schema_of(Box)["properties"]["item"] == {}


def test_generic_recursive_dataclass_binds_per_argument() -> None:
    both = schema_of(tuple[Chain[int], Chain[str]])
    assert both["prefixItems"] == [{"$ref": "#/$defs/Chain"}, {"$ref": "#/$defs/Chain_2"}]
    assert both["$defs"]["Chain"]["properties"]["item"] == {"type": "integer"}
    assert both["$defs"]["Chain_2"]["properties"]["item"] == {"type": "string"}
    v = compile_schema(both)
    assert v.is_valid([{"item": 1, "next": {"item": 2}}, {"item": "a"}])
    err = v.first_error([{"item": 1, "next": {"item": "x"}}, {"item": "a"}])
    assert err is not None and (err.path, err.expected) == ("$[0].next.item", "integer")
    assert from_json_value({"item": 1, "next": {"item": 2}}, Chain[int]) == Chain(1, Chain(2))


def test_recursive_types_use_defs() -> None:
    node_def = {
        "type": "object",
        "properties": {
            "value": {"type": "integer"},
            "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
        },
        "required": ["value", "children"],
    }
    assert schema_of(Node) == {"$ref": "#/$defs/Node", "$defs": {"Node": node_def}}
    assert schema_of(Optional[Node]) == {
        "anyOf": [{"$ref": "#/$defs/Node"}, {"type": "null"}],
        "$defs": {"Node": node_def},
    }
    odd = schema_of(Odd)
    assert odd["$ref"] == "#/$defs/Odd"
    assert set(odd["$defs"]) == {"Odd"}  # Even is inlined inside Odd's definition


def test_unresolvable_forward_reference_warns_and_is_any() -> None:
    class Dangling(TypedDict):
        a: "Missing"  # type: ignore[name-defined]  # noqa: F821
        b: int

    with pytest.warns(SchemaWarning, match="Missing"):
        schema = schema_of(Dangling)
    assert schema["properties"] == {"a": {}, "b": {"type": "integer"}}
    with pytest.warns(SchemaWarning):  # not cached: warns again
        schema_of(Dangling)


def test_local_self_reference_resolves() -> None:
    class Local(TypedDict):
        next: "Optional[Local]"

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        schema = schema_of(Local)
    assert schema["$ref"] == "#/$defs/Local"


@pytest.mark.parametrize(
    ("tp", "fragment"),
    [
        (set[int], "set[int]: a set is not JSON"),
        (frozenset, "frozenset is not JSON"),
        (bytes, "bytes are not JSON"),
        (dict[int, str], "keys are strings"),
        (complex, "complex number"),
        (Literal[b"x"], "Literal value b'x' is not a JSON scalar"),
        (list[set[str]], "set[str] at [] is not JSON"),
    ],
)
def test_non_json_annotations_raise(tp: object, fragment: str) -> None:
    with pytest.raises(SchemaError) as info:
        schema_of(tp)
    assert fragment in str(info.value)
    assert repr(tp) in str(info.value)
    assert isinstance(info.value, TypeError)
    assert isinstance(info.value, ComposableAgentsError)


def test_arbitrary_class_raises_naming_field() -> None:
    class Thing:
        pass

    @dataclasses.dataclass
    class HasThing:
        thing: Thing

    with pytest.raises(SchemaError, match=r"HasThing\.thing"):
        schema_of(HasThing)


def test_schema_of_is_deterministic_and_returns_fresh_dicts() -> None:
    first = schema_of(Person)
    first["properties"]["name"] = "mutated"
    assert schema_of(Person)["properties"]["name"] == {"type": "string"}
    assert canonical_schema_text(schema_of(int | str | None)) == canonical_schema_text(
        schema_of(None | str | int)
    )


def test_is_any() -> None:
    import inspect

    assert is_any(Any)
    assert is_any(inspect.Parameter.empty)
    assert not is_any(object)
    assert not is_any(int)


# --- compiled validator -----------------------------------------------------------------


def _violation(schema: Mapping[str, Any], value: object) -> tuple[str, str, str]:
    v = compile_schema(schema)
    assert not v.is_valid(value)
    with pytest.raises(SchemaViolation) as info:
        v.check(value)
    err = info.value
    return err.path, err.expected, err.value_repr


def test_bool_is_not_an_integer_or_number() -> None:
    assert not compile_schema({"type": "integer"}).is_valid(True)
    assert not compile_schema({"type": "number"}).is_valid(False)
    assert compile_schema({"type": "boolean"}).is_valid(True)
    assert not compile_schema({"type": "boolean"}).is_valid(1)
    assert _violation({"type": "integer"}, True) == ("$", "integer", "True")


def test_json_number_semantics() -> None:
    integer = compile_schema({"type": "integer"})
    number = compile_schema({"type": "number"})
    assert integer.is_valid(1.0)
    assert not integer.is_valid(1.5)
    assert number.is_valid(3)
    assert number.is_valid(2.5)
    assert not number.is_valid(float("nan"))
    assert not number.is_valid(float("inf"))
    assert not integer.is_valid("1")


def test_tuples_are_arrays_and_keys_must_be_strings() -> None:
    assert compile_schema({"type": "array"}).is_valid((1, 2))
    assert not compile_schema({"type": "object"}).is_valid({1: "a"})
    assert _violation({"type": "object", "properties": {"a": {}}}, {1: "a"})[1] == "object"


def test_typed_dict_checks_report_exact_paths() -> None:
    v = validator_for(Person)
    good = {"name": "Ada", "age": 36, "address": {"street": "x", "zip_code": "y"}, "extra": 1}
    assert v.is_valid(good)
    v.check(good)
    assert v.first_error(good) is None
    assert v.errors(good) == []
    bad_zip = {**good, "address": {"street": "x", "zip_code": 5}}
    assert _violation(v.schema, bad_zip) == ("$.address.zip_code", "string", "5")
    no_age = {k: x for k, x in good.items() if k != "age"}
    assert _violation(v.schema, no_age) == ("$.age", "required property", "<missing>")
    assert _violation(v.schema, {**good, "age": True}) == ("$.age", "integer", "True")
    path, expected, shown = _violation(v.schema, [good])
    assert (path, expected) == ("$", "object")
    assert shown.startswith("[{'address': {") and shown.endswith("...") and len(shown) == 80


def test_every_item_is_checked() -> None:
    v = compile_schema({"type": "array", "items": {"type": "integer"}})
    value = list(range(1000)) + ["late"]
    assert not v.is_valid(value)
    assert _violation(v.schema, value)[:2] == ("$[1000]", "integer")
    nested = compile_schema(schema_of(dict[str, list[Person]]))
    bad = {"a b": [{"name": "n", "age": 1, "address": {"street": 1, "zip_code": ""}}]}
    assert _violation(nested.schema, bad)[:2] == ('$["a b"][0].address.street', "string")


def test_errors_lists_every_violation() -> None:
    v = compile_schema(schema_of(Address))
    errs = v.errors({"street": 1})
    assert [(e.path, e.expected) for e in errs] == [
        ("$.street", "string"),
        ("$.zip_code", "required property"),
    ]


def test_enum_const_and_literal() -> None:
    assert _violation(schema_of(Literal["a", "b"]), "c") == ("$", "one of 'a', 'b'", "'c'")
    assert _violation({"const": 1}, True) == ("$", "1", "True")
    v = compile_schema({"enum": [1, [1, 2], {"a": None}]})
    assert v.is_valid(1.0)
    assert v.is_valid((1, 2))
    assert v.is_valid({"a": None})
    assert not v.is_valid(True)
    assert not v.is_valid([1, 2, 3])
    nested = compile_schema({"enum": [[1, 0], {"a": 1}]})
    assert not nested.is_valid([True, False])
    assert not nested.is_valid({"a": True})
    assert nested.is_valid([1.0, 0])
    assert compile_schema({"enum": [False]}).is_valid(False)
    assert not compile_schema({"enum": [False]}).is_valid(0)


def test_tuple_schema() -> None:
    v = validator_for(tuple[int, str])
    assert v.is_valid([1, "a"])
    assert v.is_valid((1, "a"))
    assert _violation(v.schema, [1]) == ("$", "array of at least 2 items", "[1]")
    assert _violation(v.schema, [1, "a", 2]) == ("$", "array of at most 2 items", "[1, 'a', 2]")
    assert _violation(v.schema, ["a", "a"]) == ("$[0]", "integer", "'a'")


def test_union_errors_prefer_the_deepest_branch() -> None:
    v = validator_for(Optional[Address])
    assert v.is_valid(None)
    assert _violation(v.schema, {"street": "s", "zip_code": 3})[:2] == ("$.zip_code", "string")
    assert _violation(v.schema, 3) == ("$", "object or null", "3")
    assert _violation(validator_for(Optional[int]).schema, "x") == ("$", "integer or null", "'x'")


def test_one_of_all_of_not() -> None:
    one = compile_schema({"oneOf": [{"type": "integer"}, {"type": "number"}]})
    assert one.is_valid(1.5)
    assert _violation(one.schema, 1)[1] == "exactly one of integer or number"
    both = compile_schema({"allOf": [{"type": "string"}, {"minLength": 2}]})
    assert both.is_valid("ab")
    assert _violation(both.schema, "a")[1] == "string of at least 2 characters"
    assert _violation({"not": {"type": "string"}}, "s")[1] == "not string"


def test_scalar_keywords_apply_only_to_their_types() -> None:
    s = compile_schema({"minimum": 0, "maximum": 10, "pattern": "^a", "maxLength": 3})
    assert s.is_valid(5)
    assert s.is_valid("abc")
    assert s.is_valid(True)  # bool is not a number: numeric bounds do not apply
    assert s.is_valid(None)
    assert _violation(s.schema, 11)[1] == "number <= 10"
    assert _violation(s.schema, -1)[1] == "number >= 0"
    assert _violation(s.schema, "ba")[1] == "string matching '^a'"
    assert _violation(s.schema, "abcd")[1] == "string of at most 3 characters"
    exclusive = compile_schema({"exclusiveMinimum": 0, "exclusiveMaximum": 1})
    assert exclusive.is_valid(0.5)
    assert not exclusive.is_valid(0)


def test_additional_properties() -> None:
    closed = validator_for(Closed)
    assert closed.is_valid({"a": 1})
    assert _violation(closed.schema, {"a": 1, "b": 2}) == ("$.b", "no additional property", "2")
    typed = validator_for(dict[str, int])
    assert _violation(typed.schema, {"x": 1, "y": "2"}) == ("$.y", "integer", "'2'")


def test_true_false_and_empty_schemas() -> None:
    assert compile_schema({}).is_valid(object())
    assert compile_schema(True).is_valid(None)
    assert not compile_schema(False).is_valid(None)
    assert _violation({"items": False}, [1]) == ("$", "array of at most 0 items", "[1]")
    assert _violation({"properties": {"a": False}}, {"a": 1})[:2] == (
        "$.a",
        "nothing (schema false)",
    )


def test_recursive_validation_through_defs() -> None:
    v = validator_for(Node)
    deep: dict[str, Any] = {"value": 0, "children": []}
    cursor = deep
    for i in range(50):
        child: dict[str, Any] = {"value": i, "children": []}
        cursor["children"].append(child)
        cursor = child
    assert v.is_valid(deep)
    cursor["children"].append({"value": "x", "children": []})
    path, expected, _ = _violation(v.schema, deep)
    assert path == "$" + ".children[0]" * 51 + ".value"
    assert expected == "integer"
    mutual = validator_for(Odd)
    assert mutual.is_valid({"next": {"next": {"next": None}}})
    assert not mutual.is_valid({"next": {"next": {"next": 3}}})


def test_unknown_keywords_are_ignored() -> None:
    v = compile_schema({"type": "string", "format": "email", "title": "x", "x-custom": 1})
    assert v.is_valid("not an email")


def test_malformed_schemas_raise_schema_error() -> None:
    with pytest.raises(SchemaError, match="bad type"):
        compile_schema({"type": "thing"})
    with pytest.raises(SchemaError, match="unresolvable"):
        compile_schema({"$ref": "#/$defs/Nope"})
    with pytest.raises(SchemaError, match="bad pattern"):
        compile_schema({"pattern": "("})
    with pytest.raises(SchemaError, match="must be JSON"):
        compile_schema({"const": {1, 2}})


def test_compile_cache_by_canonical_text() -> None:
    a = compile_schema({"type": "object", "properties": {"x": {"type": "integer"}}})
    b = compile_schema({"properties": {"x": {"type": "integer"}}, "type": "object"})
    assert a is b
    assert isinstance(a, Validator)
    assert compile_schema({"type": "integer"}) is not a


def test_dict_subclasses_are_checked_without_mutation() -> None:
    v = validator_for(Person)
    dd: collections.defaultdict[str, Any] = collections.defaultdict(int, {"name": "a"})
    assert not v.is_valid(dd)
    assert dict(dd) == {"name": "a"}


def test_violation_is_picklable_and_truncates_values() -> None:
    path, expected, shown = _violation({"type": "integer"}, "x" * 500)
    assert len(shown) <= 80
    err = SchemaViolation(path, expected, shown)
    again = pickle.loads(pickle.dumps(err))
    assert (again.path, again.expected, again.value_repr) == (path, expected, shown)
    assert str(again) == f"value at $ is {shown}, expected integer"


# --- conversion -------------------------------------------------------------------


def test_plain_json_needs_no_converter() -> None:
    for tp in (int, str, list[int], dict[str, Any], Person, Node, Optional[Address], Any):
        assert converter_for(tp) is None
    value = {"name": "a", "age": 1, "address": {"street": "", "zip_code": ""}}
    assert to_json_value(value, Person) is value
    assert from_json_value(value, Person) is value


def test_dataclass_round_trip() -> None:
    shape = Shape("tri", [Point(0), Point(1, 2.5)], (Point(0), Point(1, 1.0)), meta={"k": [1]})
    data = to_json_value(shape, Shape)
    assert data == {
        "name": "tri",
        "corners": [{"x": 0, "y": 0.0}, {"x": 1, "y": 2.5}],
        "bbox": [{"x": 0, "y": 0.0}, {"x": 1, "y": 1.0}],
        "tag": None,
        "meta": {"k": [1]},
        "cached": 0,
    }
    assert validator_for(Shape).is_valid(data)
    back = from_json_value(data, Shape)
    assert back == shape
    assert isinstance(back, Shape)
    assert isinstance(back.bbox, tuple)
    assert isinstance(back.corners[1], Point)


def test_tuple_round_trip() -> None:
    assert to_json_value((1, "a"), tuple[int, str]) == [1, "a"]
    assert from_json_value([1, "a"], tuple[int, str]) == (1, "a")
    assert from_json_value([[1, 2], [3]], list[tuple[int, ...]]) == [(1, 2), (3,)]
    holder = {"pair": [1, "x"], "point": {"x": 3}}
    converted = from_json_value(holder, Holder)
    assert converted == {"pair": (1, "x"), "point": Point(3)}
    assert to_json_value(converted, Holder) == {"pair": [1, "x"], "point": {"x": 3, "y": 0.0}}


def test_recursive_dataclass_round_trip() -> None:
    tree = Tree("root", [Tree("a", [Tree("a1")]), Tree("b")])
    data = to_json_value(tree, Tree)
    assert data == {
        "label": "root",
        "kids": [
            {"label": "a", "kids": [{"label": "a1", "kids": []}]},
            {"label": "b", "kids": []},
        ],
    }
    assert from_json_value(data, Tree) == tree
    assert from_json_value({"next": {"next": {}}}, Odd) == Odd(Even(Odd()))


def test_optional_and_union_conversion() -> None:
    assert from_json_value(None, Optional[Point]) is None
    assert from_json_value({"x": 1}, Optional[Point]) == Point(1)
    assert from_json_value([{"x": 1}, None], list[Optional[Point]]) == [Point(1), None]
    assert to_json_value([Point(1), None], list[Optional[Point]]) == [{"x": 1, "y": 0.0}, None]
    assert from_json_value({"k": [1, 2]}, dict[str, tuple[int, int]]) == {"k": (1, 2)}
    assert from_json_value({"item": [1, 2]}, Box[tuple[int, int]]) == Box((1, 2))
    assert from_json_value([1, 2], Union[tuple[int, int], str]) == (1, 2)
    assert from_json_value("s", Union[tuple[int, int], str]) == "s"


def test_conversion_leaves_unexpected_shapes_alone() -> None:
    assert from_json_value("nope", Point) == "nope"
    assert from_json_value(3, tuple[int, int]) == 3
    assert to_json_value({"x": 1}, Point) == {"x": 1}
    assert converter_for(Point) is converter_for(Point)
