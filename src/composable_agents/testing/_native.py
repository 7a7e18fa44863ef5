"""Native hypothesis strategies for the plain schemas ``schema_of`` emits (the fast path before ``from_schema``).

``hypothesis-jsonschema`` handles every schema but builds objects draw by
draw, about nine times slower than ``fixed_dictionaries`` for the same
record (``benchmarks/bench_testing.py``). Reply types are mostly plain
records, lists, literals and unions, so those get native strategies here;
anything else (string patterns, formats, a keyword this module does not know)
returns ``None`` and the caller uses ``from_schema``. Either way the run-time
validator labels each value, so the two paths cannot disagree on validity.
Rejected: dropping ``hypothesis-jsonschema`` (schemas from elsewhere, such
as an MCP tool's input schema, use keywords ``schema_of`` never emits).
"""

from __future__ import annotations

from typing import Any, Final, NamedTuple

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
        "$ref",
        "$defs",
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


class _Ctx(NamedTuple):
    any_json: st.SearchStrategy[Json]
    extra: tuple[str, ...]
    refs: dict[str, st.SearchStrategy[Json]]


def _array(schema: dict[str, Any], ctx: _Ctx) -> st.SearchStrategy[Json] | None:
    if "prefixItems" in schema:
        if schema.get("items", False) is not False:
            return None
        parts = [_native(s, ctx) for s in schema["prefixItems"]]
        if any(p is None for p in parts):
            return None
        return st.tuples(*parts).map(list)
    items = _native(schema.get("items", {}), ctx)
    if items is None:
        return None
    low = int(schema.get("minItems", 0))
    high = min(int(schema.get("maxItems", low + _MAX_ITEMS)), low + _MAX_ITEMS)
    return st.lists(items, min_size=low, max_size=high)


def _object(schema: dict[str, Any], ctx: _Ctx) -> st.SearchStrategy[Json] | None:
    props: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", ()))
    extra_schema = schema.get("additionalProperties", True)
    if not props and isinstance(extra_schema, dict) and extra_schema:
        values = _native(extra_schema, ctx)
        if values is None:
            return None
        return st.dictionaries(st.text(max_size=8), values, max_size=4)
    if required - set(props):
        return None
    must: dict[str, st.SearchStrategy[Json]] = {}
    may: dict[str, st.SearchStrategy[Json]] = {}
    for key, sub in props.items():
        strategy = _native(sub, ctx)
        if strategy is None:
            return None
        (must if key in required else may)[key] = strategy
    record = st.fixed_dictionaries(must, optional=may)
    spare = [k for k in ctx.extra if k not in props]
    if extra_schema is not True or not spare:
        return record
    # An open record (a TypedDict, a dataclass) also accepts keys it does not list: a model may add them.
    extras = st.dictionaries(st.sampled_from(spare), _EXTRA_VALUES, max_size=2)
    return st.tuples(record, extras).map(lambda pair: {**pair[1], **pair[0]})


def native_strategy(
    schema: Any, any_json: st.SearchStrategy[Json], extra: tuple[str, ...] = COMMON_KEYS
) -> st.SearchStrategy[Json] | None:
    """A native strategy for ``schema``, or ``None`` when it holds anything this fast path does not cover.

    Open records (no ``additionalProperties``) sometimes carry keys from
    ``extra`` too. Local ``$ref``s into ``$defs`` resolve lazily
    (``st.deferred``), so recursive types (a tree of records) work: a list
    may be empty, which ends the recursion.
    """
    refs: dict[str, st.SearchStrategy[Json]] = {}
    ctx = _Ctx(any_json, extra, refs)
    defs = schema.get("$defs", {}) if isinstance(schema, dict) else {}
    if not isinstance(defs, dict):
        return None
    for name, body in defs.items():
        refs[name] = _deferred(body, ctx)
    if any(_native(body, ctx) is None for body in defs.values()):
        return None  # one definition needs from_schema: let it have the whole schema
    return _native(schema, ctx)


def _deferred(body: Any, ctx: _Ctx) -> st.SearchStrategy[Json]:
    """The strategy of one ``$defs`` entry, built on first use (``nothing()`` when the fast path cannot)."""

    def build() -> st.SearchStrategy[Json]:
        found = _native(body, ctx)
        return st.nothing() if found is None else found

    return st.deferred(build)


def _native(schema: Any, ctx: _Ctx) -> st.SearchStrategy[Json] | None:
    if schema is True or schema == {}:
        return ctx.any_json
    if not isinstance(schema, dict) or set(schema) - _KNOWN:
        return None
    if "$ref" in schema:
        ref = schema["$ref"]
        name = ref[len("#/$defs/") :] if isinstance(ref, str) and ref.startswith("#/$defs/") else None
        if name is None or name not in ctx.refs:
            return None
        return ctx.refs[name]
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        values = list(schema["enum"])
        return st.sampled_from(values) if values else None
    if "anyOf" in schema:
        parts = [_native(s, ctx) for s in schema["anyOf"]]
        if not parts or any(p is None for p in parts):
            return None
        return st.one_of(parts)  # type: ignore[arg-type]
    kind = schema.get("type")
    if isinstance(kind, list):
        parts = [_native({**schema, "type": k}, ctx) for k in kind]
        if not parts or any(p is None for p in parts):
            return None
        return st.one_of(parts)  # type: ignore[arg-type]
    if kind == "array":
        return _array(schema, ctx)
    if kind == "object":
        return _object(schema, ctx)
    if isinstance(kind, str):
        return _scalar(kind)
    return None
