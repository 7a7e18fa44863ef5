"""JSON Schemas for typed boundaries: derive, compile, check, convert.

One job: turn a Python annotation into a JSON Schema (a draft 2020-12 subset)
and check and convert the JSON values that cross a typed step boundary
against it. :func:`schema_of` derives the schema, :func:`compile_schema`
turns a schema into a :class:`Validator` once (nested closures, cached by
canonical text), and :func:`to_json_value` / :func:`from_json_value` convert
dataclasses and tuples at the boundary (``converter_for`` exposes the
per-type converter, ``None`` when plain JSON needs none).

Alternatives rejected:

- the ``jsonschema`` package: it interprets the schema dict on every check
  (tens of microseconds for a small record), pulls in dependencies the pure
  core must not have, and its error ordering is not a contract; it stays a
  test-only reference that the property tests compare against;
- beartype (or typeguard) at step boundaries: beartype samples one item of a
  list and does not look inside ``TypedDict`` values, so two replays could
  decide differently; a boundary check must be complete and deterministic.
  beartype still guards direct Python calls, where O(1) sampling is right;
- pydantic: a heavy dependency with its own coercion rules (``"1"`` becomes
  ``1``), while boundaries must check, never coerce.

Derivation rules: ``Any`` (or a missing annotation) is ``{}``; ``bool`` is
not an integer; ``float`` accepts integers; a fixed tuple is ``prefixItems``
with ``items: false``; unions become a ``type`` list or ``anyOf``, sorted so
the schema does not depend on member order; ``Literal`` becomes ``const`` or a
sorted ``enum``; ``TypedDict`` and dataclass objects allow extra keys (a
``closed=True`` TypedDict does not); recursive types go through ``$defs``;
an unresolvable forward reference becomes ``{}`` with a :class:`SchemaWarning`.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import sys
import types
import typing
import warnings
from collections.abc import Callable, Mapping, MutableMapping, MutableSequence, Sequence
from functools import lru_cache
from typing import Any, Final, NamedTuple, final

import typing_extensions as te

from composable_agents.core._schema_compile import (
    SchemaError,
    SchemaViolation,
    compile_node,
    short_repr,
    violation,
)
from composable_agents.core.canonical import Json

__all__ = [
    "Converter",
    "SchemaError",
    "SchemaViolation",
    "SchemaWarning",
    "Validator",
    "canonical_schema_text",
    "compile_schema",
    "converter_for",
    "from_json_value",
    "is_any",
    "schema_of",
    "short_repr",
    "to_json_value",
    "validator_for",
]


class SchemaWarning(UserWarning):
    """A forward reference could not be resolved; that part became ``Any``."""


_ANYS: Final = (Any, te.Any, inspect.Parameter.empty)
_PRIMITIVES: Final[dict[object, str]] = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
}
_SEQUENCES: Final = (list, Sequence, MutableSequence)
_MAPPINGS: Final = (dict, Mapping, MutableMapping)
_PEEL: Final = (te.Required, te.NotRequired, te.ReadOnly, typing.Required, typing.NotRequired)
_NO_EXTRA: Final = getattr(te, "NoExtraItems", None)
_NOT_JSON: Final[dict[type, str]] = {
    set: "a set is not JSON (use list[T])",
    frozenset: "a frozenset is not JSON (use list[T])",
    bytes: "bytes are not JSON (use str, e.g. base64)",
    bytearray: "bytes are not JSON (use str, e.g. base64)",
    complex: "a complex number is not JSON",
}
_CACHE_LIMIT: Final = 4096


def is_any(tp: object) -> bool:
    """Whether ``tp`` means "any value": ``Any`` or a missing annotation."""
    return any(tp is a for a in _ANYS)


class _Ctx(NamedTuple):
    """Where names in an annotation resolve: a module, its owner class, TypeVars."""

    globalns: Mapping[str, Any]
    localns: Mapping[str, Any]
    typevars: Mapping[object, tuple[object, _Ctx]]


_TOP: Final = _Ctx({}, {}, {})


def _class_ctx(
    cls: type, typevars: Mapping[object, tuple[object, _Ctx]], owner: type | None = None
) -> _Ctx:
    module = sys.modules.get(cls.__module__)
    globalns = vars(module) if module is not None else {}
    localns = {cls.__name__: cls}
    if owner is not None:
        localns[owner.__name__] = owner
    return _Ctx(globalns, localns, typevars)


OnFail = Callable[[], None] | None


def _resolve(
    tp: object, ctx: _Ctx, where: str, on_fail: OnFail
) -> tuple[object, _Ctx, bool | None]:
    """Resolve forward references and bound TypeVars, strip ``Annotated``/``Required``/...

    Returns ``(type, its context, requiredness from Required/NotRequired or None)``.
    An unresolvable name becomes ``Any``: with a :class:`SchemaWarning`, or
    silently when ``on_fail`` is ``None``.
    """
    required: bool | None = None
    while True:
        if isinstance(tp, (str, typing.ForwardRef)):
            text = tp if isinstance(tp, str) else tp.__forward_arg__
            globalns: Mapping[str, Any] = ctx.globalns
            module_name = getattr(tp, "__forward_module__", None)
            if isinstance(module_name, str) and module_name in sys.modules:
                globalns = vars(sys.modules[module_name])
            g = globalns if isinstance(globalns, dict) and globalns else dict(globalns)
            try:
                tp = eval(text, g, dict(ctx.localns))
            except Exception as exc:  # noqa: BLE001 - any failure means "unresolvable"
                if on_fail is not None:
                    on_fail()
                    msg = f"cannot resolve forward reference {text!r} in {where}: {exc}; using Any"
                    warnings.warn(msg, SchemaWarning, stacklevel=4)
                return Any, ctx, required
            continue
        if isinstance(tp, typing.TypeVar) and tp in ctx.typevars:
            tp, ctx = ctx.typevars[tp]
            continue
        origin = te.get_origin(tp)
        if origin is te.Annotated or (origin is not None and any(origin is p for p in _PEEL)):
            if origin is te.Required or origin is typing.Required:
                required = True
            elif origin is te.NotRequired or origin is typing.NotRequired:
                required = False
            tp = te.get_args(tp)[0]
            continue
        return tp, ctx, required


class _Field(NamedTuple):
    name: str
    tp: object
    ctx: _Ctx
    required: bool
    init: bool


def _class_of(tp: object) -> tuple[type, tuple[object, ...]] | None:
    """``(cls, args)`` if ``tp`` is a TypedDict/dataclass, maybe parametrized."""
    cls = te.get_origin(tp) or tp
    if isinstance(cls, type) and (te.is_typeddict(cls) or dataclasses.is_dataclass(cls)):
        return cls, te.get_args(tp)
    return None


def _fields(cls: type, args: tuple[object, ...], ctx: _Ctx, on_fail: OnFail) -> list[_Field]:
    params = getattr(cls, "__parameters__", ())
    typevars = {p: (a, ctx) for p, a in zip(params, args)}
    out: list[_Field] = []
    if te.is_typeddict(cls):
        inner = _class_ctx(cls, typevars)
        required_keys: frozenset[str] = getattr(cls, "__required_keys__", frozenset())
        for name, raw in cls.__annotations__.items():
            tp, fctx, req = _resolve(raw, inner, f"{cls.__qualname__}.{name}", on_fail)
            out.append(_Field(name, tp, fctx, name in required_keys if req is None else req, True))
        return out
    owners: dict[str, type] = {}
    for klass in reversed(cls.__mro__):
        for name in inspect.get_annotations(klass):
            owners[name] = klass
    for f in dataclasses.fields(cls):
        inner = _class_ctx(owners.get(f.name, cls), typevars, cls)
        tp, fctx, _ = _resolve(f.type, inner, f"{cls.__qualname__}.{f.name}", on_fail)
        no_default = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        out.append(_Field(f.name, tp, fctx, f.init and no_default, f.init))
    return out


def _key(tp: object) -> object:
    """``tp`` itself as a dict key when hashable (equal aliases match), else its id."""
    try:
        hash(tp)
    except TypeError:
        return ("id", id(tp))
    return tp


def _class_key(cls: type, args: tuple[object, ...], ctx: _Ctx) -> object:
    """Identity of a (maybe parametrized) class with its TypeVars bound in ``ctx``."""
    return (cls, tuple(_key(_resolve(a, ctx, "", None)[0]) for a in args))


def _sort_key(schema: object) -> str:
    return json.dumps(schema, sort_keys=True, separators=(",", ":"))


class _Deriver:
    """One derivation: collects ``$defs`` and notes whether anything warned."""

    def __init__(self, root: object) -> None:
        self.root = root
        self.defs: dict[str, dict[str, Any]] = {}
        self.names: dict[object, str] = {}
        self.in_progress: set[object] = set()
        self.recursive: set[object] = set()
        self.warned = False

    def _fail(self) -> None:
        self.warned = True

    def error(self, tp: object, where: str, reason: str) -> SchemaError:
        part = "" if tp is self.root else f"{tp!r} at {where or 'the top'} is not JSON: "
        msg = f"cannot derive a JSON Schema for {self.root!r}: {part}{reason}"
        return SchemaError(msg)

    def derive(self, tp: object, ctx: _Ctx, where: str) -> dict[str, Any]:
        tp, ctx, _ = _resolve(tp, ctx, where or "the annotation", self._fail)
        if is_any(tp) or tp is object:
            return {}
        if tp is None or tp is type(None):
            return {"type": "null"}
        if isinstance(tp, typing.TypeVar):
            if tp.__bound__ is not None:
                return self.derive(tp.__bound__, ctx, where)
            if tp.__constraints__:
                return self.union(tp.__constraints__, ctx, where)
            return {}
        supertype = getattr(tp, "__supertype__", None)
        if supertype is not None:
            return self.derive(supertype, ctx, where)
        primitive = _PRIMITIVES.get(tp) if isinstance(tp, type) else None
        if primitive is not None:
            return {"type": primitive}
        found = _class_of(tp)
        if found is not None:
            return self.named(tp, found[0], found[1], ctx, where)
        origin = te.get_origin(tp)
        args = te.get_args(tp)
        if origin is te.Literal:
            return self.literal(tp, args, where)
        if origin is typing.Union or origin is types.UnionType:
            return self.union(args, ctx, where)
        if origin is tuple or tp is tuple:
            return self.tuple_(tp, args, ctx, where)
        if origin in _SEQUENCES or tp in _SEQUENCES:
            item = self.derive(args[0], ctx, f"{where}[]") if args else {}
            return {"type": "array", "items": item} if item else {"type": "array"}
        if origin in _MAPPINGS or tp in _MAPPINGS:
            return self.mapping(tp, args, ctx, where)
        base = origin if isinstance(origin, type) else tp
        reason = _NOT_JSON.get(base, "") if isinstance(base, type) else ""
        reason = reason or "not a JSON type (use a TypedDict, a dataclass or a JSON primitive)"
        raise self.error(tp, where, reason)

    def literal(self, tp: object, args: tuple[object, ...], where: str) -> dict[str, Any]:
        for a in args:
            if type(a) not in (str, int, bool, type(None)):
                raise self.error(tp, where, f"Literal value {a!r} is not a JSON scalar")
        unique = {_sort_key(a): a for a in args}  # JSON identity: 1 and True differ
        values = [unique[k] for k in sorted(unique)]
        return {"const": values[0]} if len(values) == 1 else {"enum": values}

    def union(self, members: Sequence[object], ctx: _Ctx, where: str) -> dict[str, Any]:
        unique: dict[str, dict[str, Any]] = {}
        for m in members:
            s = self.derive(m, ctx, where)
            if not s:
                return {}
            unique.setdefault(_sort_key(s), s)
        schemas = [unique[k] for k in sorted(unique)]
        if len(schemas) == 1:
            return schemas[0]
        if all(len(s) == 1 and isinstance(s.get("type"), str) for s in schemas):
            return {"type": sorted({s["type"] for s in schemas})}
        return {"anyOf": schemas}

    def tuple_(self, tp: object, args: tuple[object, ...], ctx: _Ctx, where: str) -> dict[str, Any]:
        if tp is tuple or tp is typing.Tuple:  # noqa: UP006 - bare typing.Tuple
            return {"type": "array"}
        if len(args) == 2 and args[1] is Ellipsis:
            item = self.derive(args[0], ctx, f"{where}[]")
            return {"type": "array", "items": item} if item else {"type": "array"}
        if not args or args == ((),):
            return {"type": "array", "maxItems": 0}
        prefix = [self.derive(a, ctx, f"{where}[{i}]") for i, a in enumerate(args)]
        n = len(prefix)
        return {
            "type": "array",
            "prefixItems": prefix,
            "items": False,
            "minItems": n,
            "maxItems": n,
        }

    def mapping(
        self, tp: object, args: tuple[object, ...], ctx: _Ctx, where: str
    ) -> dict[str, Any]:
        if not args:
            return {"type": "object"}
        key, _, _ = _resolve(args[0], ctx, where, self._fail)
        while (supertype := getattr(key, "__supertype__", None)) is not None:
            key = supertype
        key_ok = (
            key is str
            or is_any(key)
            or (te.get_origin(key) is te.Literal and all(type(a) is str for a in te.get_args(key)))
        )
        if not key_ok:
            raise self.error(tp, where, "JSON object keys are strings (use dict[str, V])")
        value = self.derive(args[1], ctx, f"{where}[*]")
        return {"type": "object", "additionalProperties": value} if value else {"type": "object"}

    def _def_name(self, key: object, cls: type) -> str:
        name = self.names.get(key)
        if name is None:
            taken = set(self.names.values())
            name, n = cls.__name__, 1
            while name in taken:
                n += 1
                name = f"{cls.__name__}_{n}"
            self.names[key] = name
        return name

    def named(
        self, tp: object, cls: type, args: tuple[object, ...], ctx: _Ctx, where: str
    ) -> dict[str, Any]:
        key = _class_key(cls, args, ctx)
        ref = {"$ref": f"#/$defs/{self._def_name(key, cls)}"}
        if key in self.in_progress:
            self.recursive.add(key)
            return ref
        self.in_progress.add(key)
        try:
            body = self.body(cls, args, ctx)
        finally:
            self.in_progress.discard(key)
        if key in self.recursive:
            self.defs[ref["$ref"].rsplit("/", 1)[1]] = body
            return ref
        return body

    def body(self, cls: type, args: tuple[object, ...], ctx: _Ctx) -> dict[str, Any]:
        props: dict[str, Any] = {}
        required: list[str] = []
        for f in _fields(cls, args, ctx, self._fail):
            props[f.name] = self.derive(f.tp, f.ctx, f"{cls.__qualname__}.{f.name}")
            if f.required:
                required.append(f.name)
        schema: dict[str, Any] = {"type": "object", "properties": props}
        if required:
            schema["required"] = required
        extra = getattr(cls, "__extra_items__", _NO_EXTRA)
        if extra is not _NO_EXTRA and extra is not None:
            schema["additionalProperties"] = self.derive(
                extra, _class_ctx(cls, {}), cls.__qualname__
            )
        elif getattr(cls, "__closed__", None) is True:
            schema["additionalProperties"] = False
        return schema


_SCHEMAS: dict[object, dict[str, Any]] = {}


def _schema_in(tp: object, ctx: _Ctx) -> dict[str, Any]:
    d = _Deriver(tp)
    schema = d.derive(tp, ctx, "")
    if d.defs:
        schema = {**schema, "$defs": dict(sorted(d.defs.items()))}
    if not d.warned and ctx is _TOP:
        try:
            if len(_SCHEMAS) >= _CACHE_LIMIT:
                _SCHEMAS.clear()
            _SCHEMAS[tp] = schema
        except TypeError:
            pass
    return schema


def _copy(schema: dict[str, Any]) -> dict[str, Any]:
    copied: dict[str, Any] = json.loads(json.dumps(schema))
    return copied


def schema_of(tp: object) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12 subset) of the annotation ``tp``.

    Deterministic: the same annotation always gives the same schema (union
    members and ``Literal`` values are sorted). Returns a fresh dict each
    call. Raises :class:`SchemaError` naming the annotation when some part
    cannot be JSON (``set``, ``bytes``, an arbitrary class, a non-``str``
    mapping key); warns :class:`SchemaWarning` and uses ``{}`` for a forward
    reference that does not resolve.
    """
    try:
        cached = _SCHEMAS.get(tp)
    except TypeError:
        cached = None
    return _copy(cached if cached is not None else _schema_in(tp, _TOP))


# --- compiled validators --------------------------------------------------------


@final
class Validator:
    """A schema compiled once into closures; get one from :func:`compile_schema`.

    ``schema`` is the (parsed, canonical) schema it checks; treat it as
    read-only. Checks are complete (every item and property) and
    deterministic.
    """

    __slots__ = ("_describe", "_explain", "_pred", "schema")

    def __init__(self, schema: Mapping[str, Any] | bool) -> None:
        self.schema = schema
        self._pred, self._explain, self._describe = compile_node(schema)

    def is_valid(self, value: object) -> bool:
        """Whether ``value`` matches the schema (fast path: builds no error)."""
        return self._pred(value)

    def check(self, value: object) -> None:
        """Return if ``value`` matches; else raise its first :class:`SchemaViolation`."""
        if self._pred(value):
            return
        raise self.first_error(value) or violation("$", self._describe, value)

    def first_error(self, value: object) -> SchemaViolation | None:
        """The first violation of ``value`` (in schema order), or ``None``."""
        if self._pred(value):
            return None
        return next(self._explain(value, "$"), None)

    def errors(self, value: object) -> list[SchemaViolation]:
        """Every violation of ``value`` (``anyOf``/``oneOf`` report one each)."""
        if self._pred(value):
            return []
        return list(self._explain(value, "$"))

    def __repr__(self) -> str:
        return f"Validator({canonical_schema_text(self.schema)})"


def _jsonable(o: object) -> object:
    if isinstance(o, Mapping):
        return dict(o)
    msg = f"not JSON: {short_repr(o)}"
    raise TypeError(msg)


def canonical_schema_text(schema: Mapping[str, Any] | bool) -> str:
    """The canonical JSON text of a schema (sorted keys, compact): the cache key."""
    try:
        return json.dumps(
            schema, sort_keys=True, separators=(",", ":"), allow_nan=False, default=_jsonable
        )
    except (TypeError, ValueError) as exc:
        msg = f"a schema must be JSON: {exc}"
        raise SchemaError(msg) from exc


@lru_cache(maxsize=_CACHE_LIMIT)
def _compile_text(text: str) -> Validator:
    return Validator(json.loads(text))


def compile_schema(schema: Mapping[str, Any] | bool) -> Validator:
    """Compile ``schema`` once into a :class:`Validator` (cached by canonical text).

    Raises :class:`SchemaError` for a malformed schema (bad ``type``, a
    ``$ref`` that does not resolve, an invalid ``pattern``, ...).
    """
    return _compile_text(canonical_schema_text(schema))


def validator_for(tp: object) -> Validator:
    """``compile_schema(schema_of(tp))``: the compiled check of an annotation."""
    return compile_schema(schema_of(tp))


# --- conversion at typed boundaries ------------------------------------------------

Convert = Callable[[Any], Any]


@final
class Converter:
    """Converts values of one annotation between Python and JSON.

    ``to_json(value)`` turns dataclass instances into dicts (every field,
    ``init=False`` ones too) and tuples into lists; ``from_json(value)`` turns
    dicts into dataclasses and lists into tuples where the annotation says so.
    Both leave anything without the expected shape untouched (the validator
    reports it).
    """

    __slots__ = ("from_json", "to_json")

    def __init__(self, to_json: Convert, from_json: Convert) -> None:
        self.to_json = to_json
        self.from_json = from_json


def _needs(tp: object, ctx: _Ctx, seen: set[object]) -> bool:
    """Whether any dataclass or tuple is reachable from ``tp``."""
    tp, ctx, _ = _resolve(tp, ctx, "the annotation", None)
    found = _class_of(tp)
    if found is not None:
        if dataclasses.is_dataclass(found[0]):
            return True
        key = _class_key(found[0], found[1], ctx)
        if key in seen:
            return False
        seen.add(key)
        return any(_needs(f.tp, f.ctx, seen) for f in _fields(found[0], found[1], ctx, None))
    origin = te.get_origin(tp)
    if origin is tuple or tp is tuple:
        return True
    if origin is typing.Union or origin is types.UnionType or origin in _SEQUENCES:
        return any(_needs(a, ctx, seen) for a in te.get_args(tp))
    if origin in _MAPPINGS:
        args = te.get_args(tp)
        return len(args) == 2 and _needs(args[1], ctx, seen)
    return False


def _generic_to_json(v: Any) -> Any:
    if v is None or isinstance(v, (str, int, float)):
        return v
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return {f.name: _generic_to_json(getattr(v, f.name)) for f in dataclasses.fields(v)}
    if isinstance(v, (list, tuple)):
        return [_generic_to_json(x) for x in v]
    if isinstance(v, dict):
        return {k: _generic_to_json(x) for k, x in v.items()}
    return v


class _ConvBuilder:
    """Builds one converter tree; recursive classes share a slot."""

    def __init__(self) -> None:
        self.slots: dict[object, Converter] = {}

    def build(self, tp: object, ctx: _Ctx) -> Converter | None:
        tp, ctx, _ = _resolve(tp, ctx, "the annotation", None)
        if not _needs(tp, ctx, set()):
            return None
        found = _class_of(tp)
        if found is not None:
            return self.named(tp, found[0], found[1], ctx)
        origin, args = te.get_origin(tp), te.get_args(tp)
        if origin is typing.Union or origin is types.UnionType:
            return self.union(args, ctx)
        if origin is tuple or tp is tuple:
            return self.tuple_(tp, args, ctx)
        if origin in _SEQUENCES:
            return self.sequence(self.build(args[0], ctx), list)
        return self.mapping(self.build(args[1], ctx))

    def named(self, tp: object, cls: type, args: tuple[object, ...], ctx: _Ctx) -> Converter:
        key = _class_key(cls, args, ctx)
        slot = self.slots.get(key)
        if slot is not None:
            return slot
        slot = Converter(_generic_to_json, _identity)
        self.slots[key] = slot
        fields = [(f.name, self.build(f.tp, f.ctx), f.init) for f in _fields(cls, args, ctx, None)]
        converting = [(name, c) for name, c, _ in fields if c is not None]

        def dict_to(v: dict[str, Any], pick: int) -> dict[str, Any]:
            out = dict(v)
            for name, c in converting:
                if name in out:
                    out[name] = (c.to_json, c.from_json)[pick](out[name])
            return out

        if te.is_typeddict(cls):
            slot.to_json = lambda v: dict_to(v, 0) if isinstance(v, dict) else v
            slot.from_json = lambda v: dict_to(v, 1) if isinstance(v, dict) else v
            return slot

        def dc_to(v: Any) -> Any:
            if isinstance(v, cls):
                return {n: (c.to_json(getattr(v, n)) if c else getattr(v, n)) for n, c, _ in fields}
            return dict_to(v, 0) if isinstance(v, dict) else v

        def dc_from(v: Any) -> Any:
            if not isinstance(v, dict):
                return v
            kwargs = {
                n: (c.from_json(v[n]) if c else v[n]) for n, c, init in fields if init and n in v
            }
            return cls(**kwargs)

        slot.to_json = dc_to
        slot.from_json = dc_from
        return slot

    def union(self, members: tuple[object, ...], ctx: _Ctx) -> Converter:
        tries: list[tuple[Callable[[object], bool], Converter | None]] = []
        for m in members:
            try:
                check = compile_schema(_schema_in(m, ctx)).is_valid
            except SchemaError:
                continue
            tries.append((check, self.build(m, ctx)))

        def from_json(v: Any) -> Any:
            for check, conv in tries:
                if check(v):
                    return conv.from_json(v) if conv is not None else v
            return v

        return Converter(_generic_to_json, from_json)

    def tuple_(self, tp: object, args: tuple[object, ...], ctx: _Ctx) -> Converter:
        if tp is tuple or tp is typing.Tuple or not args or args == ((),):  # noqa: UP006
            return Converter(_list_of, _tuple_of)
        if len(args) == 2 and args[1] is Ellipsis:
            item = self.build(args[0], ctx)
            return Converter(_list_of, _tuple_of) if item is None else self.sequence(item, tuple)
        convs = [self.build(a, ctx) for a in args]

        def to_json(v: Any) -> Any:
            if not isinstance(v, (list, tuple)):
                return v
            return [c.to_json(x) if c else x for c, x in zip(convs, v)] + list(v[len(convs) :])

        def from_json(v: Any) -> Any:
            if not isinstance(v, (list, tuple)):
                return v
            return tuple(
                [c.from_json(x) if c else x for c, x in zip(convs, v)] + list(v[len(convs) :])
            )

        return Converter(to_json, from_json)

    @staticmethod
    def sequence(item: Converter | None, kind: type[list[Any] | tuple[Any, ...]]) -> Converter:
        assert item is not None  # _needs said an item converts
        return Converter(
            lambda v: [item.to_json(x) for x in v] if isinstance(v, (list, tuple)) else v,
            lambda v: kind(map(item.from_json, v)) if isinstance(v, (list, tuple)) else v,
        )

    @staticmethod
    def mapping(value: Converter | None) -> Converter:
        assert value is not None  # _needs said a value converts
        return Converter(
            lambda v: {k: value.to_json(x) for k, x in v.items()} if isinstance(v, dict) else v,
            lambda v: {k: value.from_json(x) for k, x in v.items()} if isinstance(v, dict) else v,
        )


def _identity(v: Any) -> Any:
    return v


def _list_of(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v


def _tuple_of(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


_CONVERTERS: dict[object, Converter | None] = {}


def converter_for(tp: object) -> Converter | None:
    """The :class:`Converter` of annotation ``tp``, or ``None`` if values pass as is.

    ``None`` means no dataclass or tuple is reachable from ``tp`` (plain JSON
    types, ``TypedDict`` of JSON, ``Any``), so a hot path can skip conversion.
    Converters are built once per annotation and cached.
    """
    try:
        return _CONVERTERS[tp]
    except KeyError:
        pass
    except TypeError:
        return _ConvBuilder().build(tp, _TOP)
    conv = _ConvBuilder().build(tp, _TOP)
    if len(_CONVERTERS) >= _CACHE_LIMIT:
        _CONVERTERS.clear()
    _CONVERTERS[tp] = conv
    return conv


def to_json_value(value: object, tp: object) -> Json:
    """``value`` (typed as ``tp``) as a JSON value: dataclasses → dicts, tuples → lists.

    Values whose annotation needs no conversion are returned untouched.
    """
    conv = converter_for(tp)
    return value if conv is None else conv.to_json(value)


def from_json_value(value: Json, tp: object) -> object:
    """The JSON ``value`` as annotation ``tp`` expects: dicts → dataclasses, lists → tuples.

    Recurses through lists, dicts, unions (first member whose schema matches),
    ``TypedDict`` and dataclass fields; anything else is returned as is. Keys
    a dataclass does not declare are dropped (its schema allows them); check
    the value first, since a dict missing a required field makes the
    dataclass constructor raise ``TypeError``.
    """
    conv = converter_for(tp)
    return value if conv is None else conv.from_json(value)
