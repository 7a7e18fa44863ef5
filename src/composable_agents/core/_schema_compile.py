"""Compile a JSON Schema (a draft 2020-12 subset) into nested closures.

Private half of :mod:`composable_agents.core.schema`, which wraps it in
``Validator``/``compile_schema`` and re-exports the public names. A schema is walked once; every node becomes two closures: a
fast predicate (``value -> bool``, builds nothing) and an explainer (``(value,
path) -> iterator of SchemaViolation``) that only runs after the predicate
said no. Checking a value never looks at the schema dict again.

Supported keywords: ``type`` (string or list), ``enum``, ``const``,
``properties``, ``required``, ``additionalProperties`` (bool or schema),
``minProperties``/``maxProperties``, ``items`` (schema or ``false``),
``prefixItems``, ``minItems``, ``maxItems``, ``anyOf``, ``oneOf``, ``allOf``,
``not``, ``$ref`` (JSON pointers into the root document, ``#`` and
``#/$defs/Name``; recursion works), ``minimum``, ``maximum``,
``exclusiveMinimum``, ``exclusiveMaximum``, ``minLength``, ``maxLength`` and
``pattern`` (Python ``re.search``; ECMA-262 differences are not emulated).
The schemas ``{}`` and ``true`` accept everything, ``false`` nothing. Every
other keyword (``format``, ``title``, ``description``, ``$schema``, ...) is
ignored, as JSON Schema allows for unknown and annotation keywords.

JSON semantics are applied to Python values: ``True`` is neither an integer
nor a number, ``1.0`` is an integer, NaN and infinities are not numbers,
tuples are arrays, and an ``object`` is a ``dict`` whose keys are all ``str``.
``enum``/``const`` compare the JSON way (``1 == 1.0``, ``True != 1``,
``(1,) == [1]``).
"""

from __future__ import annotations

import json
import math
import operator
import re
import reprlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Final

from composable_agents.errors import ComposableAgentsError

__all__ = [
    "Explain",
    "Pred",
    "SchemaError",
    "SchemaViolation",
    "compile_node",
    "json_equal",
    "short_repr",
    "violation",
]

Pred = Callable[[object], bool]
Explain = Callable[[object, str], Iterator["SchemaViolation"]]

_VALUE_REPR_LIMIT: Final = 80
_MISSING: Final = object()
_IDENT: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class SchemaError(ComposableAgentsError, TypeError):
    """A type has no JSON Schema, or a schema cannot be compiled.

    The message names the annotation (or the schema location) and the reason.
    """


class SchemaViolation(ComposableAgentsError, ValueError):
    """A value does not match a compiled schema.

    ``path`` is the JSON path of the offending part (``$.items[3].name``),
    ``expected`` a short text (``integer``, ``one of 'a', 'b'``) and
    ``value_repr`` a rendering of the offending value truncated to about 80
    characters (``<missing>`` for an absent required property).
    """

    def __init__(self, path: str, expected: str, value_repr: str) -> None:
        self.path = path
        self.expected = expected
        self.value_repr = value_repr
        msg = f"value at {path} is {value_repr}, expected {expected}"
        super().__init__(msg)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.path, self.expected, self.value_repr))


_REPR = reprlib.Repr()
_REPR.maxlevel = 3
_REPR.maxstring = _VALUE_REPR_LIMIT
_REPR.maxother = _VALUE_REPR_LIMIT
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = 8


def short_repr(value: object) -> str:
    """A bounded ``repr`` of ``value`` (at most about 80 characters)."""
    text = _REPR.repr(value)
    if len(text) > _VALUE_REPR_LIMIT:
        text = text[: _VALUE_REPR_LIMIT - 3] + "..."
    return text


def _child(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    if _IDENT.match(key):
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def violation(path: str, expected: str, value: object) -> SchemaViolation:
    """A :class:`SchemaViolation` at ``path`` with a short rendering of ``value``."""
    return SchemaViolation(path, expected, short_repr(value))


# --- JSON type predicates -------------------------------------------------


def _is_integer(v: object) -> bool:
    if type(v) is int:
        return True
    if isinstance(v, float):
        return v.is_integer()
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: object) -> bool:
    if type(v) is int:
        return True
    if isinstance(v, float):
        return math.isfinite(v)
    return isinstance(v, int) and not isinstance(v, bool)


def _str_keys(v: dict[Any, Any]) -> bool:
    for k in v:
        if type(k) is not str and not isinstance(k, str):
            return False
    return True


def _is_object(v: object) -> bool:
    return isinstance(v, dict) and _str_keys(v)


_TYPE_PREDS: Final[dict[str, Pred]] = {
    "null": lambda v: v is None,
    "boolean": lambda v: v is True or v is False,
    "integer": _is_integer,
    "number": _is_number,
    "string": lambda v: isinstance(v, str),
    "array": lambda v: isinstance(v, (list, tuple)),
    "object": _is_object,
}


_EXACT: Final[dict[str, type]] = {
    "null": type(None),
    "boolean": bool,
    "integer": int,
    "number": int,
    "string": str,
    "array": list,
}


def _is_num_value(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def json_equal(a: object, b: object) -> bool:
    """Equality of two JSON values the JSON way (``True != 1``, ``[1] == (1,)``)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a is b
    if _is_num_value(a) and _is_num_value(b):
        return a == b
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return False
        return all(json_equal(x, b[k]) for k, x in a.items())
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    return a is None and b is None


# --- combinators ------------------------------------------------------------


def _accept(v: object) -> bool:
    return True


def _reject(v: object) -> bool:
    return False


def _no_errors(v: object, path: str) -> Iterator[SchemaViolation]:
    return iter(())


def _all_of(preds: Sequence[Pred]) -> Pred:
    if not preds:
        return _accept
    if len(preds) == 1:
        return preds[0]
    if len(preds) == 2:
        a, b = preds

        def both(v: object) -> bool:
            return a(v) and b(v)

        return both
    ps = tuple(preds)

    def every(v: object) -> bool:
        for p in ps:
            if not p(v):
                return False
        return True

    return every


def _chain(explains: Sequence[Explain]) -> Explain:
    if not explains:
        return _no_errors
    if len(explains) == 1:
        return explains[0]
    es = tuple(explains)

    def chained(v: object, path: str) -> Iterator[SchemaViolation]:
        for e in es:
            yield from e(v, path)

    return chained


def _simple(pred: Pred, expected: str) -> Explain:
    def explain(v: object, path: str) -> Iterator[SchemaViolation]:
        if not pred(v):
            yield violation(path, expected, v)

    return explain


def _gate(kind: type | tuple[type, ...], pred: Pred, explain: Explain) -> tuple[Pred, Explain]:
    """Apply ``pred``/``explain`` only to values of ``kind`` (others pass)."""

    def gated(v: object) -> bool:
        return not isinstance(v, kind) or pred(v)

    def gated_explain(v: object, path: str) -> Iterator[SchemaViolation]:
        if isinstance(v, kind):
            yield from explain(v, path)

    return gated, gated_explain


class _Node:
    """A compiled schema node; ``$ref`` slots are filled after compiling."""

    __slots__ = ("describe", "explain", "pred")

    def __init__(self, pred: Pred, explain: Explain, describe: str) -> None:
        self.pred = pred
        self.explain = explain
        self.describe = describe


_ACCEPT_NODE: Final = _Node(_accept, _no_errors, "any value")


def _reject_explain(v: object, path: str) -> Iterator[SchemaViolation]:
    yield violation(path, "nothing (schema false)", v)


_REJECT_NODE: Final = _Node(_reject, _reject_explain, "nothing")


def _enum_pred(values: Sequence[object]) -> Pred:
    strs: set[str] = set()
    nums: set[int | float] = set()
    bools: set[bool] = set()
    others: list[object] = []
    has_null = False
    for x in values:
        if x is None:
            has_null = True
        elif isinstance(x, bool):
            bools.add(x)
        elif isinstance(x, str):
            strs.add(x)
        elif isinstance(x, (int, float)):
            nums.add(x)
        else:
            others.append(x)
    if not (nums or bools or others or has_null):
        frozen = frozenset(strs)

        def str_enum(v: object) -> bool:
            return isinstance(v, str) and v in frozen

        return str_enum
    other_items = tuple(others)

    def enum(v: object) -> bool:
        if isinstance(v, str):
            return v in strs
        if v is None:
            return has_null
        if isinstance(v, bool):
            return v in bools
        if isinstance(v, (int, float)):
            return v in nums
        if isinstance(v, (list, tuple, dict)):
            return any(json_equal(v, o) for o in other_items)
        return False

    return enum


_BOUNDS: Final[dict[str, tuple[Callable[[Any, Any], bool], str]]] = {
    "minimum": (operator.ge, ">="),
    "maximum": (operator.le, "<="),
    "exclusiveMinimum": (operator.gt, ">"),
    "exclusiveMaximum": (operator.lt, "<"),
}


class _Compiler:
    """Compiles one root schema; ``$ref`` targets are compiled once each."""

    def __init__(self, root: object) -> None:
        self.root = root
        self.refs: dict[str, _Node] = {}
        self.pending: set[str] = set()  # refs being compiled (recursion goes through slots)

    # -- $ref ---------------------------------------------------------------

    def ref(self, ref: object, loc: str) -> _Node:
        if not isinstance(ref, str) or not ref.startswith("#"):
            msg = f"unsupported $ref {ref!r} at {loc} (only '#...' JSON pointers)"
            raise SchemaError(msg)
        slot = self.refs.get(ref)
        if slot is not None:
            return slot
        target = self._pointer(ref, loc)
        name = ref.rsplit("/", 1)[-1] if "/" in ref else "root schema"
        slot = _Node(_reject, _no_errors, name)
        self.refs[ref] = slot
        self.pending.add(ref)
        node = self.node(target, ref)
        self.pending.discard(ref)
        slot.pred = node.pred
        slot.explain = node.explain
        return slot

    def _pointer(self, ref: str, loc: str) -> object:
        target: object = self.root
        if ref in ("#", "#/"):
            return target
        if not ref.startswith("#/"):
            msg = f"unsupported $ref {ref!r} at {loc} (anchors are not supported)"
            raise SchemaError(msg)
        for raw in ref[2:].split("/"):
            part = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(target, Mapping) and part in target:
                target = target[part]
            elif isinstance(target, list) and part.isdigit() and int(part) < len(target):
                target = target[int(part)]
            else:
                msg = f"unresolvable $ref {ref!r} at {loc}"
                raise SchemaError(msg)
        return target

    # -- nodes ----------------------------------------------------------------

    def node(self, schema: object, loc: str) -> _Node:
        if schema is True:
            return _ACCEPT_NODE
        if schema is False:
            return _REJECT_NODE
        if not isinstance(schema, Mapping):
            msg = f"schema at {loc} must be an object or a boolean, not {short_repr(schema)}"
            raise SchemaError(msg)
        preds: list[Pred] = []
        explains: list[Explain] = []
        describe = ""

        types = self._types(schema, loc)
        if types is not None:
            describe = " or ".join(types)
        obj = self._object(schema, loc, types == ["object"])
        arr = self._array(schema, loc, types == ["array"])
        fused = (types == ["object"] and obj) or (types == ["array"] and arr)
        if types is not None and not fused:
            tp = self._type_pred(types)
            preds.append(tp)
            explains.append(_simple(tp, describe))
        for part in (obj, arr, self._string(schema, loc), self._number(schema, loc)):
            if part is not None:
                preds.append(part[0])
                explains.append(part[1])

        if "const" in schema:
            const = schema["const"]
            cp = _enum_pred([const])
            preds.append(cp)
            explains.append(_simple(cp, repr(const)))
            describe = describe or repr(const)
        if "enum" in schema:
            values = schema["enum"]
            if not isinstance(values, Sequence) or isinstance(values, str):
                msg = f"enum at {loc} must be an array"
                raise SchemaError(msg)
            ep = _enum_pred(list(values))
            text = "one of " + ", ".join(repr(x) for x in values)
            preds.append(ep)
            explains.append(_simple(ep, text))
            describe = describe or text
        if "$ref" in schema:
            slot = self.ref(schema["$ref"], loc)
            if schema["$ref"] in self.pending:  # recursive: look the slot up at check time
                preds.append(lambda v: slot.pred(v))
                explains.append(lambda v, path: slot.explain(v, path))
            else:
                preds.append(slot.pred)
                explains.append(slot.explain)
            describe = describe or slot.describe
        for key in ("anyOf", "oneOf", "allOf"):
            if key in schema:
                pred, explain, text = self._combinator(key, schema[key], loc)
                preds.append(pred)
                explains.append(explain)
                describe = describe or text
        if "not" in schema:
            inner = self.node(schema["not"], loc + "/not")
            ip = inner.pred

            def negated(v: object) -> bool:
                return not ip(v)

            preds.append(negated)
            explains.append(_simple(negated, f"not {inner.describe}"))
        return _Node(_all_of(preds), _chain(explains), describe or "a value matching the schema")

    def _types(self, schema: Mapping[str, Any], loc: str) -> list[str] | None:
        if "type" not in schema:
            return None
        raw = schema["type"]
        types = [raw] if isinstance(raw, str) else raw
        if not isinstance(types, list) or not all(t in _TYPE_PREDS for t in types):
            msg = f"bad type {raw!r} at {loc}"
            raise SchemaError(msg)
        return list(dict.fromkeys(types))

    @staticmethod
    def _type_pred(types: list[str]) -> Pred:
        if len(types) == 1:
            return _TYPE_PREDS[types[0]]
        if "number" in types and "integer" in types:
            types = [t for t in types if t != "integer"]
        ps = tuple(_TYPE_PREDS[t] for t in types)
        exact = frozenset(_EXACT[t] for t in types if t in _EXACT)

        def any_type(v: object) -> bool:
            if type(v) in exact:
                return True
            for p in ps:
                if p(v):
                    return True
            return False

        return any_type

    def _combinator(self, key: str, subs: object, loc: str) -> tuple[Pred, Explain, str]:
        if not isinstance(subs, Sequence) or isinstance(subs, str) or not subs:
            msg = f"{key} at {loc} must be a non-empty array"
            raise SchemaError(msg)
        nodes = [self.node(s, f"{loc}/{key}/{i}") for i, s in enumerate(subs)]
        preds = tuple(n.pred for n in nodes)
        text = (" and " if key == "allOf" else " or ").join(n.describe for n in nodes)
        if key == "allOf":
            return _all_of(preds), _chain([n.explain for n in nodes]), text

        def best(v: object, path: str) -> SchemaViolation:
            deepest: SchemaViolation | None = None
            for n in nodes:
                err = next(n.explain(v, path), None)
                if err is None or len(err.path) <= len(path):
                    continue
                if deepest is None or len(err.path) > len(deepest.path):
                    deepest = err
            return deepest or violation(path, text, v)

        if key == "anyOf":

            def any_of(v: object) -> bool:
                for p in preds:
                    if p(v):
                        return True
                return False

            def any_explain(v: object, path: str) -> Iterator[SchemaViolation]:
                if not any_of(v):
                    yield best(v, path)

            return any_of, any_explain, text

        def one_of(v: object) -> bool:
            hits = 0
            for p in preds:
                if p(v):
                    hits += 1
                    if hits > 1:
                        return False
            return hits == 1

        def one_explain(v: object, path: str) -> Iterator[SchemaViolation]:
            hits = sum(1 for p in preds if p(v))
            if hits == 0:
                yield best(v, path)
            elif hits > 1:
                yield violation(path, f"exactly one of {text}", v)

        return one_of, one_explain, text

    # -- objects --------------------------------------------------------------

    def _object(
        self, schema: Mapping[str, Any], loc: str, typed: bool
    ) -> tuple[Pred, Explain] | None:
        """Object keywords; ``typed`` fuses ``type: object`` in (else non-dicts pass)."""
        props_raw = schema.get("properties", {})
        required_raw = schema.get("required", [])
        additional = schema.get("additionalProperties", True)
        lo, hi = int(schema.get("minProperties", 0)), int(schema.get("maxProperties", -1))
        if not (props_raw or required_raw or additional is not True or lo or hi >= 0):
            return None
        if not isinstance(props_raw, Mapping) or not isinstance(required_raw, list):
            msg = f"properties/required at {loc} must be an object/an array"
            raise SchemaError(msg)
        required = list(dict.fromkeys(required_raw))
        props = [
            (name, name in required, self.node(sub, f"{loc}/properties/{name}"))
            for name, sub in props_raw.items()
        ]
        names = frozenset(props_raw)
        extra_required = tuple(r for r in required if r not in names)
        req_checks = tuple((name, n.pred) for name, req, n in props if req)
        opt_checks = tuple((name, n.pred) for name, req, n in props if not req)
        n_req = len(req_checks)
        add = (
            self.node(additional, f"{loc}/additionalProperties") if additional is not True else None
        )
        add_pred = add.pred if add is not None else None
        simple_tail = not extra_required and add is None and not lo and hi < 0
        missing = _MISSING

        def tail(v: dict[Any, Any]) -> bool:
            if typed and not _str_keys(v):
                return False
            for name in extra_required:
                if name not in v:
                    return False
            if add_pred is not None:
                for k, x in v.items():
                    if k not in names and not add_pred(x):
                        return False
            return len(v) >= lo and (hi < 0 or len(v) <= hi)

        def obj(v: Any) -> bool:
            if type(v) is not dict:  # a dict subclass (defaultdict!) is checked as a copy
                return obj(dict(v)) if isinstance(v, dict) else not typed
            try:
                for name, p in req_checks:
                    if not p(v[name]):
                        return False
            except KeyError:
                return False
            seen = n_req
            for name, p in opt_checks:
                x = v.get(name, missing)
                if x is not missing:
                    if not p(x):
                        return False
                    seen += 1
            return (simple_tail and seen == len(v)) or tail(v)

        def obj_explain(v: Any, path: str) -> Iterator[SchemaViolation]:
            if not isinstance(v, dict) or (typed and not _str_keys(v)):
                if typed:
                    yield violation(path, "object", v)
                return
            for name, req, n in props:
                if name in v:
                    yield from n.explain(v[name], _child(path, name))
                elif req:
                    yield SchemaViolation(_child(path, name), "required property", "<missing>")
            for name in extra_required:
                if name not in v:
                    yield SchemaViolation(_child(path, name), "required property", "<missing>")
            if add is not None:
                for k, x in v.items():
                    if k not in names:
                        where = _child(path, str(k))
                        if add is _REJECT_NODE:
                            yield violation(where, "no additional property", x)
                        else:
                            yield from add.explain(x, where)
            if len(v) < lo:
                yield violation(path, f"object with at least {lo} properties", v)
            if 0 <= hi < len(v):
                yield violation(path, f"object with at most {hi} properties", v)

        return obj, obj_explain

    # -- arrays ---------------------------------------------------------------

    def _array(
        self, schema: Mapping[str, Any], loc: str, typed: bool
    ) -> tuple[Pred, Explain] | None:
        """Array keywords; ``typed`` fuses ``type: array`` in (else non-arrays pass)."""
        prefix_raw = schema.get("prefixItems", [])
        lo, hi = int(schema.get("minItems", 0)), int(schema.get("maxItems", -1))
        if not (prefix_raw or "items" in schema or lo or hi >= 0):
            return None
        if not isinstance(prefix_raw, list):
            msg = f"prefixItems at {loc} must be an array"
            raise SchemaError(msg)
        prefix = [self.node(s, f"{loc}/prefixItems/{i}") for i, s in enumerate(prefix_raw)]
        items = self.node(schema["items"], f"{loc}/items") if "items" in schema else None
        n_prefix = len(prefix)
        if items is _REJECT_NODE:
            hi = n_prefix if hi < 0 else min(hi, n_prefix)
            items = None
        item_pred = items.pred if items is not None else None
        prefix_preds = tuple(n.pred for n in prefix)

        def arr(v: Any) -> bool:
            if not isinstance(v, (list, tuple)):
                return not typed
            n = len(v)
            if n < lo or (hi >= 0 and n > hi):
                return False
            for p, x in zip(prefix_preds, v):
                if not p(x):
                    return False
            if item_pred is None or n <= n_prefix:
                return True
            return all(map(item_pred, v[n_prefix:] if n_prefix else v))

        def arr_explain(v: Any, path: str) -> Iterator[SchemaViolation]:
            if not isinstance(v, (list, tuple)):
                if typed:
                    yield violation(path, "array", v)
                return
            if len(v) < lo:
                yield violation(path, f"array of at least {lo} items", v)
            if 0 <= hi < len(v):
                yield violation(path, f"array of at most {hi} items", v)
            for i, (node, x) in enumerate(zip(prefix, v)):
                yield from node.explain(x, _child(path, i))
            if items is not None:
                for i in range(n_prefix, len(v)):
                    yield from items.explain(v[i], _child(path, i))

        return arr, arr_explain

    # -- scalars --------------------------------------------------------------

    def _string(self, schema: Mapping[str, Any], loc: str) -> tuple[Pred, Explain] | None:
        lo = schema.get("minLength")
        hi = schema.get("maxLength")
        pattern = schema.get("pattern")
        if lo is None and hi is None and pattern is None:
            return None
        parts: list[tuple[Pred, str]] = []
        if lo is not None:
            parts.append(
                (_bound(operator.ge, int(lo), True), f"string of at least {lo} characters")
            )
        if hi is not None:
            parts.append((_bound(operator.le, int(hi), True), f"string of at most {hi} characters"))
        if pattern is not None:
            try:
                search = re.compile(pattern).search
            except (re.error, TypeError) as exc:
                msg = f"bad pattern {pattern!r} at {loc}: {exc}"
                raise SchemaError(msg) from exc

            def matches(v: Any) -> bool:
                return search(v) is not None

            parts.append((matches, f"string matching {pattern!r}"))
        return self._scalar(str, parts)

    def _number(self, schema: Mapping[str, Any], loc: str) -> tuple[Pred, Explain] | None:
        parts: list[tuple[Pred, str]] = []
        for key, (op, sign) in _BOUNDS.items():
            if key not in schema:
                continue
            bound = schema[key]
            if not _is_num_value(bound):
                msg = f"{key} at {loc} must be a number, not {bound!r}"
                raise SchemaError(msg)
            parts.append((_bound(op, bound), f"number {sign} {bound!r}"))
        if not parts:
            return None
        p, e = self._scalar((int, float), parts)

        def num(v: object) -> bool:
            return isinstance(v, bool) or p(v)

        def num_explain(v: object, path: str) -> Iterator[SchemaViolation]:
            if not isinstance(v, bool):
                yield from e(v, path)

        return num, num_explain

    @staticmethod
    def _scalar(
        kind: type | tuple[type, ...], parts: list[tuple[Pred, str]]
    ) -> tuple[Pred, Explain]:
        pred = _all_of([p for p, _ in parts])
        explain = _chain([_simple(p, text) for p, text in parts])
        return _gate(kind, pred, explain)


def _bound(op: Callable[[Any, Any], bool], bound: object, size: bool = False) -> Pred:
    if size:
        return lambda v: op(len(v), bound)  # type: ignore[arg-type]
    return lambda v: op(v, bound)


def compile_node(schema: Mapping[str, Any] | bool) -> tuple[Pred, Explain, str]:
    """Compile a root schema: ``(predicate, explainer, short description)``."""
    node = _Compiler(schema).node(schema, "#")
    return node.pred, node.explain, node.describe
