"""Native hypothesis strategies for the plain schemas ``schema_of`` emits (the fast path before ``from_schema``).

``hypothesis-jsonschema`` handles every schema but builds objects draw by
draw, about nine times slower than ``fixed_dictionaries`` for the same
record (``benchmarks/bench_testing.py``). Reply types are mostly plain
records, lists, literals and unions, so those get native strategies here;
anything else (``$ref``, string patterns, a keyword this module does not know)
returns ``None`` and the caller uses ``from_schema``. Either way the run-time
validator labels each value, so the two paths cannot disagree on validity.
Rejected: dropping ``hypothesis-jsonschema`` (recursive and referenced
schemas need it).
"""

from __future__ import annotations

from typing import Any, Final

from hypothesis import strategies as st

from composable_agents.core.canonical import Json

__all__ = ["COMMON_KEYS", "native_strategy"]

COMMON_KEYS: Final = ("id", "name", "type", "kind", "status", "value", "text", "error")
"""Extra keys a model plausibly adds to a record whose schema allows more than it lists."""

_KNOWN: Final = frozenset(
    {
        "type",
        "items",
        "prefixItems",
        "minItems",
        "maxItems",
        "properties",
        "required",
        "additionalProperties",
        "enum",
        "const",
        "anyOf",
        "title",
        "description",
    }
)
_EXTRA_VALUES: Final = st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=8)
"""Values of extra keys: scalars are enough to overwrite a field, and cheap to draw."""
_MAX_ITEMS: Final = 5
"""Generated lists stay short: a bug on a long list nearly always shows on a short one, and shrinks there."""


def _scalar(kind: str) -> st.SearchStrategy[Json] | None:
    if kind == "string":
        return st.text(max_size=20)
    if kind == "integer":
        return st.integers(min_value=-(2**53), max_value=2**53)
    if kind == "number":
        return st.integers(min_value=-(2**31), max_value=2**31) | st.floats(allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    return None


def _array(schema: dict[str, Any], any_json: st.SearchStrategy[Json], extra: tuple[str, ...]) -> st.SearchStrategy[Json] | None:
    if "prefixItems" in schema:
        if schema.get("items", False) is not False:
            return None
        parts = [native_strategy(s, any_json, extra) for s in schema["prefixItems"]]
        if any(p is None for p in parts):
            return None
        return st.tuples(*parts).map(list)
    items = native_strategy(schema.get("items", {}), any_json, extra)
    if items is None:
        return None
    low = int(schema.get("minItems", 0))
    high = min(int(schema.get("maxItems", low + _MAX_ITEMS)), low + _MAX_ITEMS)
    return st.lists(items, min_size=low, max_size=high)


def _object(schema: dict[str, Any], any_json: st.SearchStrategy[Json], extra: tuple[str, ...]) -> st.SearchStrategy[Json] | None:
    props: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", ()))
    extra_schema = schema.get("additionalProperties", True)
    if not props and isinstance(extra_schema, dict) and extra_schema:
        values = native_strategy(extra_schema, any_json, extra)
        if values is None:
            return None
        return st.dictionaries(st.text(max_size=8), values, max_size=4)
    if required - set(props):
        return None
    must: dict[str, st.SearchStrategy[Json]] = {}
    may: dict[str, st.SearchStrategy[Json]] = {}
    for key, sub in props.items():
        strategy = native_strategy(sub, any_json, extra)
        if strategy is None:
            return None
        (must if key in required else may)[key] = strategy
    record = st.fixed_dictionaries(must, optional=may)
    spare = [k for k in extra if k not in props]
    if extra_schema is not True or not spare:
        return record
    # An open record (a TypedDict, a dataclass) also accepts keys it does not list: a model may add them.
    extras = st.dictionaries(st.sampled_from(spare), _EXTRA_VALUES, max_size=2)
    return st.tuples(record, extras).map(lambda pair: {**pair[1], **pair[0]})


def native_strategy(
    schema: Any, any_json: st.SearchStrategy[Json], extra: tuple[str, ...] = COMMON_KEYS
) -> st.SearchStrategy[Json] | None:
    """A native strategy for ``schema``, or ``None`` when it holds anything this fast path does not cover.

    Open records (no ``additionalProperties``) sometimes carry keys from ``extra`` too.
    """
    if schema is True or schema == {}:
        return any_json
    if not isinstance(schema, dict) or set(schema) - _KNOWN:
        return None
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        values = list(schema["enum"])
        return st.sampled_from(values) if values else None
    if "anyOf" in schema:
        parts = [native_strategy(s, any_json, extra) for s in schema["anyOf"]]
        if not parts or any(p is None for p in parts):
            return None
        return st.one_of(parts)  # type: ignore[arg-type]
    kind = schema.get("type")
    if isinstance(kind, list):
        parts = [native_strategy({**schema, "type": k}, any_json, extra) for k in kind]
        if not parts or any(p is None for p in parts):
            return None
        return st.one_of(parts)  # type: ignore[arg-type]
    if kind == "array":
        return _array(schema, any_json, extra)
    if kind == "object":
        return _object(schema, any_json, extra)
    if isinstance(kind, str):
        return _scalar(kind)
    return None
