"""Normal form and the wire codec of the IR.

``normalize`` flattens nested plain ``seq`` nodes, drops plain ``ident`` steps
inside a ``seq``, collapses one-step and empty plain sequences, and rejects
cycles and over-deep nesting. It is iterative and linear: a 10^5-step chain
built by repeated ``>>`` (a left-leaning tree of binary ``Seq`` nodes) is
flattened by walking the plain-``seq`` spine once, never by re-copying each
prefix.

``encode`` writes the normal form as a JSON object with positional ids
(``$``, ``$.0``, ``$.1.2``); ``decode`` is its strict inverse: unknown ops,
missing or extra fields, wrong types, non-finite numbers, duplicate ids,
nesting past :data:`MAX_NODE_DEPTH`, more than :data:`MAX_NODES` nodes or a
text over :data:`MAX_DOCUMENT_BYTES` raise :class:`IRDecodeError` carrying the
JSON path of the fault — never ``KeyError``, ``TypeError`` or ``RecursionError``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Final

from composable_agents.core.canonical import _ENCODER, Json, JsonObject, check_json
from composable_agents.core.ir import (
    Alt,
    Ann,
    App,
    Arr,
    CallStep,
    ContextPolicy,
    Contract,
    Each,
    EvalPlan,
    Ident,
    IterUpTo,
    Loop,
    Node,
    Par,
    Prim,
    PureRef,
    Seq,
    Step,
    SubStep,
    ThinkStep,
)
from composable_agents.core.jsontext import has_lone_surrogate, loads_strict
from composable_agents.core.kinds import ContextScope, Effect, Merge, Op, Shape
from composable_agents.errors import CanonicalJSONError, FreezeError, IRDecodeError

__all__ = [
    "MAX_BUDGET",
    "MAX_DOCUMENT_BYTES",
    "MAX_NODES",
    "MAX_NODE_DEPTH",
    "budget_figure",
    "child_id",
    "decode",
    "encode",
    "encode_canonical",
    "normalize",
    "walk",
]

MAX_NODE_DEPTH: Final = 128
"""Deepest nesting of nodes (after ``seq`` flattening) that freeze and decode accept."""

MAX_NODES: Final = 2_000_000
"""Most nodes one decoded document may hold."""

MAX_DOCUMENT_BYTES: Final = 64 * 1024 * 1024
"""Largest IR text ``decode`` parses."""


_MAX_INT: Final = 2**53
"""Largest magnitude of an IR integer field (the JSON-safe integer range)."""


def child_id(parent: str, index: int) -> str:
    """The positional id of child ``index`` of the node with id ``parent``."""
    return f"{parent}.{index}"


# -- normal form ---------------------------------------------------------------


def _seq_operands(node: Seq) -> list[Node]:
    """The operands of ``node`` with nested plain seqs spliced and plain idents dropped."""
    out: list[Node] = []
    stack: list[Node] = list(reversed(node.steps))
    while stack:
        item = stack.pop()
        if type(item) is Seq and item.is_plain():
            stack.extend(reversed(item.steps))
        elif type(item) is Ident and item.is_plain():
            continue
        else:
            out.append(item)
    return out


def _rebuild(node: Node, kids: list[Node]) -> Node:
    if type(node) is Seq:
        flat: list[Node] = []
        for kid in kids:
            # A kid can normalize to a plain seq only if it was a non-plain seq
            # collapsed by its own rules; splice it so the result stays flat.
            if type(kid) is Seq and kid.is_plain():
                flat.extend(kid.steps)
            elif type(kid) is Ident and kid.is_plain():
                continue
            else:
                flat.append(kid)
        if node.is_plain():
            if not flat:
                return Ident()
            if len(flat) == 1:
                return flat[0]
        elif not flat:
            flat = [Ident()]
        return node.with_children(flat)
    if all(a is b for a, b in zip(kids, node.children(), strict=True)):
        return node
    return node.with_children(kids)


def normalize(root: Node) -> Node:
    """The normal form of ``root`` (cached on the node; linear, iterative)."""
    cached = root._memo.get("norm")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    memo: dict[int, Node] = {}
    on_path: set[int] = set()
    stack: list[tuple[Node, list[Node] | None]] = [(root, None)]
    while stack:
        node, kids = stack.pop()
        key = id(node)
        if kids is None:
            if key in memo:
                continue
            done = node._memo.get("norm")
            if done is not None:
                memo[key] = done
                continue
            if key in on_path:
                msg = f"cycle detected at a {node.OP} node: the IR must be a finite tree"
                raise FreezeError(msg)
            operands = _seq_operands(node) if type(node) is Seq else list(node.children())
            if not operands and type(node) is not Seq:
                node._memo["norm"] = node
                node._memo["depth"] = 1
                memo[key] = node
                continue
            on_path.add(key)
            stack.append((node, operands))
            for kid in reversed(operands):
                if id(kid) not in memo:
                    stack.append((kid, None))
        else:
            on_path.discard(key)
            result = _rebuild(node, [memo[id(kid)] for kid in kids])
            depth = result._memo.get("depth")
            if depth is None:
                depth = 1 + max((k._memo.get("depth", 1) for k in result.children()), default=0)
                if depth > MAX_NODE_DEPTH:
                    msg = (
                        f"the flow nests {depth} levels deep (after seq flattening); "
                        f"the limit is {MAX_NODE_DEPTH}"
                    )
                    raise FreezeError(msg)
                result._memo["depth"] = depth
            result._memo["norm"] = result
            node._memo["norm"] = result
            memo[key] = result
    return memo[id(root)]


# -- encoding ------------------------------------------------------------------


def _encode_normal(node: Node, node_id: str) -> JsonObject:
    out: JsonObject = {"op": node.OP.value, "id": node_id}
    out.update(node.fields_json())
    if node.ann is not None and not node.ann.is_empty():
        out["ann"] = node.ann.to_json()
    if node.ctx is not None:
        out["ctx"] = node.ctx.to_json()
    if node.name is not None:
        out["name"] = node.name
    kids = node.children()
    op = node.OP
    # The list fields are written even when empty, so every encoding decodes.
    if kids or op is Op.SEQ or op is Op.PAR or op is Op.ALT:
        encoded = [_encode_normal(kid, f"{node_id}.{i}") for i, kid in enumerate(kids)]
        if op is Op.SEQ:
            out["steps"] = encoded
        elif op is Op.PAR or op is Op.ALT:
            out["branches"] = encoded
        else:
            out["body"] = encoded[0]
    return out


def encode(node: Node, *, root_id: str = "$") -> JsonObject:
    """The normal form of ``node`` as a JSON object with positional ids."""
    return _encode_normal(normalize(node), root_id)


def encode_canonical(node: Node, *, root_id: str = "$") -> str:
    """Canonical JSON text of :func:`encode` (sorted keys, compact)."""
    return _ENCODER.encode(encode(node, root_id=root_id))


def walk(node: Node, *, root_id: str = "$") -> list[tuple[str, Node, str | None]]:
    """Every node of the normal form in pre-order as ``(id, node, parent_id)``."""
    out: list[tuple[str, Node, str | None]] = []
    stack: list[tuple[str, Node, str | None]] = [(root_id, normalize(node), None)]
    while stack:
        item = stack.pop()
        out.append(item)
        nid, current, _ = item
        kids = current.children()
        for i in range(len(kids) - 1, -1, -1):
            stack.append((f"{nid}.{i}", kids[i], nid))
    return out


# -- decoding ------------------------------------------------------------------


class _Decoder:
    def __init__(self) -> None:
        self.ids: set[str] = set()
        self.count = 0

    def fail(self, path: str, message: str) -> IRDecodeError:
        return IRDecodeError(message, path=path)

    def obj(self, value: Json, path: str) -> Mapping[str, Json]:
        if type(value) is not dict:
            raise self.fail(path, f"expected an object, got {_kind(value)}")
        return value

    def keys(self, doc: Mapping[str, Json], path: str, required: set[str], optional: set[str]) -> None:
        for key in required:
            if key not in doc:
                raise self.fail(path, f"missing field {key!r}")
        extra = sorted(set(doc) - required - optional)
        if extra:
            raise self.fail(f"{path}.{extra[0]}", f"unknown field {extra[0]!r}")

    def string(self, doc: Mapping[str, Json], key: str, path: str) -> str:
        value = doc[key]
        if type(value) is not str or not value:
            raise self.fail(f"{path}.{key}", f"expected a non-empty string, got {_kind(value)}")
        return value

    def integer(self, doc: Mapping[str, Json], key: str, path: str) -> int:
        value = doc[key]
        if type(value) is not int:
            raise self.fail(f"{path}.{key}", f"expected an integer, got {_kind(value)}")
        if not -_MAX_INT <= value <= _MAX_INT:  # counts and bounds, never arbitrary precision
            raise self.fail(f"{path}.{key}", f"integer out of range (|n| <= 2**53), got {_kind(value)}")
        return value

    def number(self, doc: Mapping[str, Json], key: str, path: str) -> float:
        value = doc[key]
        if type(value) not in (int, float) or not _finite(value):
            raise self.fail(f"{path}.{key}", f"expected a finite number, got {_kind(value)}")
        return float(value) if type(value) is float else value

    def strings(self, doc: Mapping[str, Json], key: str, path: str) -> tuple[str, ...]:
        value = doc[key]
        if type(value) is not list:
            raise self.fail(f"{path}.{key}", f"expected a list of strings, got {_kind(value)}")
        for i, item in enumerate(value):
            if type(item) is not str or not item:
                raise self.fail(f"{path}.{key}[{i}]", f"expected a non-empty string, got {_kind(item)}")
        return tuple(value)

    def args(self, doc: Mapping[str, Json], key: str, path: str) -> JsonObject | None:
        if key not in doc:
            return None
        value = doc[key]
        if type(value) is not dict:
            raise self.fail(f"{path}.{key}", f"expected an object, got {_kind(value)}")
        return value

    def pure_ref(self, doc: Mapping[str, Json], key: str, path: str) -> PureRef | None:
        if key not in doc:
            return None
        where = f"{path}.{key}"
        ref = self.obj(doc[key], where)
        self.keys(ref, where, {"pure"}, {"args"})
        return PureRef(self.string(ref, "pure", where), self.args(ref, "args", where))

    def ann(self, doc: Mapping[str, Json], path: str) -> Ann | None:
        if "ann" not in doc:
            return None
        where = f"{path}.ann"
        raw = self.obj(doc["ann"], where)
        wire = {key: attr for attr, key in Ann._WIRE}
        self.keys(raw, where, set(), set(wire))
        values: dict[str, Any] = {}
        for key in raw:
            attr = wire[key]
            if attr == "max_attempts":
                values[attr] = self.integer(raw, key, where)
            elif attr == "cache":
                if type(raw[key]) not in (str, bool):
                    raise self.fail(f"{where}.cache", f"expected a string or boolean, got {_kind(raw[key])}")
                values[attr] = raw[key]
            elif attr == "effect":
                values[attr] = self.enum(Effect, raw, key, where)
            else:
                values[attr] = self.number(raw, key, where)
        return Ann(**values)

    def enum(self, kind: Any, doc: Mapping[str, Json], key: str, path: str) -> Any:
        value = doc[key]
        try:
            return kind(value)
        except (ValueError, TypeError):
            allowed = ", ".join(repr(m.value) for m in kind)
            raise self.fail(f"{path}.{key}", f"expected one of {allowed}, got {_kind(value)}") from None

    def ctx(self, doc: Mapping[str, Json], path: str) -> ContextPolicy | None:
        if "ctx" not in doc:
            return None
        where = f"{path}.ctx"
        raw = self.obj(doc["ctx"], where)
        self.keys(raw, where, {"scope"}, {"maxTokens"})
        scope = self.enum(ContextScope, raw, "scope", where)
        limit = self.integer(raw, "maxTokens", where) if "maxTokens" in raw else None
        return ContextPolicy(scope=scope, max_tokens=limit)

    def step(self, doc: Mapping[str, Json], path: str) -> Step:
        where = f"{path}.step"
        raw = self.obj(doc["step"], where)
        if "kind" not in raw:
            raise self.fail(where, "missing field 'kind'")
        kind = raw["kind"]
        if kind == "call":
            self.keys(raw, where, {"kind", "tool"}, {"bind", "args"})
            bind = self.string(raw, "bind", where) if "bind" in raw else None
            return CallStep(self.string(raw, "tool", where), bind, self.args(raw, "args", where))
        if kind == "think":
            self.keys(raw, where, {"kind", "reasoner"}, set())
            return ThinkStep(self.string(raw, "reasoner", where))
        if kind == "sub":
            self.keys(raw, where, {"kind", "ref"}, {"contract"})
            contract = Contract()
            if "contract" in raw:
                cwhere = f"{where}.contract"
                craw = self.obj(raw["contract"], cwhere)
                self.keys(craw, cwhere, {"shape"}, set())
                contract = Contract(self.enum(Shape, craw, "shape", cwhere))
            return SubStep(self.string(raw, "ref", where), contract)
        raise self.fail(f"{where}.kind", f"unknown step kind {kind!r} (expected call, think or sub)")

    def children(self, doc: Mapping[str, Json], key: str, path: str, depth: int) -> tuple[Node, ...]:
        value = doc[key]
        if type(value) is not list:
            raise self.fail(f"{path}.{key}", f"expected a list of nodes, got {_kind(value)}")
        return tuple(self.node(item, f"{path}.{key}[{i}]", depth + 1) for i, item in enumerate(value))

    def node(self, value: Json, path: str, depth: int) -> Node:
        if depth > MAX_NODE_DEPTH:
            raise self.fail(path, f"nodes nested deeper than {MAX_NODE_DEPTH} levels")
        self.count += 1
        if self.count > MAX_NODES:
            raise self.fail(path, f"more than {MAX_NODES} nodes")
        doc = self.obj(value, path)
        if "op" not in doc:
            raise self.fail(path, "missing field 'op'")
        raw_op = doc["op"]
        try:
            op = Op(raw_op)
        except (ValueError, TypeError):
            raise self.fail(f"{path}.op", f"unknown op {raw_op!r}") from None
        if "id" in doc:
            node_id = doc["id"]
            if type(node_id) is not str or not node_id:
                raise self.fail(f"{path}.id", f"expected a non-empty string id, got {_kind(node_id)}")
            if node_id in self.ids:
                raise self.fail(f"{path}.id", f"duplicate id {node_id!r}")
            self.ids.add(node_id)
        spec = _FIELDS[op]
        self.keys(doc, path, spec[0] | {"op"}, spec[1] | _COMMON)
        common: dict[str, Any] = {"ann": self.ann(doc, path), "ctx": self.ctx(doc, path)}
        if "name" in doc:
            common["name"] = self.string(doc, "name", path)
        return _BUILDERS[op](self, doc, path, depth, common)


def _finite(value: float) -> bool:
    # math.isfinite raises OverflowError on an int too large for a float.
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


MAX_BUDGET: Final = 1e15
"""Largest magnitude of a budget figure (an app's, a manifest's or an agent's; a 4,000-digit number would overflow a float)."""


def budget_figure(value: float) -> bool:
    """``value`` is finite and at most :data:`MAX_BUDGET` in magnitude (never ``OverflowError``)."""
    return _finite(value) and abs(value) <= MAX_BUDGET


_COMMON: Final = {"id", "ann", "ctx", "name"}


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if type(value) is bool:
        return "a boolean"
    if type(value) in (int, float):
        text = repr(value)
        text = text if len(text) <= 40 else text[:20] + "..."
        return f"the number {text}"
    if type(value) is str:
        text = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {text!r}"
    if type(value) is list:
        return "a list"
    if type(value) is dict:
        return "an object"
    return type(value).__name__


def _positive(dec: _Decoder, doc: Mapping[str, Json], key: str, path: str, minimum: int) -> int:
    value = dec.integer(doc, key, path)
    if value < minimum:
        raise dec.fail(f"{path}.{key}", f"expected an integer >= {minimum}, got {value}")
    return value


def _b_prim(dec: _Decoder, doc: Mapping[str, Json], path: str, depth: int, common: dict[str, Any]) -> Node:
    return Prim(step=dec.step(doc, path), **common)


def _b_ident(dec: _Decoder, doc: Mapping[str, Json], path: str, depth: int, common: dict[str, Any]) -> Node:
    return Ident(**common)


def _b_arr(dec: _Decoder, doc: Mapping[str, Json], path: str, depth: int, common: dict[str, Any]) -> Node:
    return Arr(pure=dec.string(doc, "pure", path), args=dec.args(doc, "args", path), **common)


def _b_seq(dec: _Decoder, doc: Mapping[str, Json], path: str, depth: int, common: dict[str, Any]) -> Node:
    return Seq(steps=dec.children(doc, "steps", path, depth), **common)


def _b_par(dec: _Decoder, doc: Mapping[str, Json], path: str, depth: int, common: dict[str, Any]) -> Node:
    merge = dec.enum(Merge, doc, "merge", path) if "merge" in doc else Merge.ALL
    branches = dec.children(doc, "branches", path, depth)
    if not branches:
        raise dec.fail(f"{path}.branches", "a par needs at least one branch")
    k = _positive(dec, doc, "k", path, 1) if "k" in doc else None
    hedge = _positive(dec, doc, "hedgeMs", path, 0) if "hedgeMs" in doc else None
    return Par(
        branches=branches,
        merge=merge,
        k=k,
        hedge_ms=hedge,
        reducer=dec.pure_ref(doc, "reducer", path),
        **common,
    )


def _b_each(dec: _Decoder, doc: Mapping[str, Json], path: str, depth: int, common: dict[str, Any]) -> Node:
    body = dec.node(doc["body"], f"{path}.body", depth + 1)
    limit = _positive(dec, doc, "maxParallel", path, 1) if "maxParallel" in doc else None
    return Each(body=body, max_parallel=limit, reducer=dec.pure_ref(doc, "reducer", path), **common)


def _b_alt(dec: _Decoder, doc: Mapping[str, Json], path: str, depth: int, common: dict[str, Any]) -> Node:
    branches = dec.children(doc, "branches", path, depth)
    pred = dec.pure_ref(doc, "pred", path)
    selector = dec.pure_ref(doc, "selector", path)
    cases: tuple[Json, ...] | None = None
    if pred is not None and selector is not None:
        raise dec.fail(f"{path}.selector", "an alt has either 'pred' or 'selector', not both")
    if pred is not None:
        if "cases" in doc:
            raise dec.fail(f"{path}.cases", "'cases' belongs to the selector form")
        if len(branches) != 2:
            raise dec.fail(f"{path}.branches", f"a predicate alt has 2 branches, got {len(branches)}")
    elif selector is not None:
        if "cases" not in doc or type(doc["cases"]) is not list:
            raise dec.fail(f"{path}.cases", "a selector alt needs a list of 'cases'")
        cases = tuple(doc["cases"])
        if len(branches) != len(cases) + 1:
            msg = f"a selector alt has one branch per case plus a default: expected {len(cases) + 1}, got {len(branches)}"
            raise dec.fail(f"{path}.branches", msg)
    else:
        raise dec.fail(path, "an alt needs 'pred' or 'selector'")
    return Alt(branches=branches, pred=pred, selector=selector, cases=cases, **common)


def _b_iter(dec: _Decoder, doc: Mapping[str, Json], path: str, depth: int, common: dict[str, Any]) -> Node:
    body = dec.node(doc["body"], f"{path}.body", depth + 1)
    return IterUpTo(
        body=body,
        max_rounds=_positive(dec, doc, "max", path, 1),
        until=dec.pure_ref(doc, "until", path),
        **common,
    )


def _b_eval(dec: _Decoder, doc: Mapping[str, Json], path: str, depth: int, common: dict[str, Any]) -> Node:
    return EvalPlan(planner=dec.string(doc, "planner", path), **common)


def _b_app(dec: _Decoder, doc: Mapping[str, Json], path: str, depth: int, common: dict[str, Any]) -> Node:
    return App(
        controller=dec.string(doc, "controller", path),
        tools=dec.strings(doc, "tools", path) if "tools" in doc else (),
        subflows=dec.strings(doc, "subflows", path) if "subflows" in doc else (),
        budget=_budget(dec, doc, path),
        max_rounds=_positive(dec, doc, "maxRounds", path, 1) if "maxRounds" in doc else None,
        **common,
    )


def _budget(dec: _Decoder, doc: Mapping[str, Json], path: str) -> JsonObject | None:
    """An app's budget: its figures finite and within a float's reach (never ``OverflowError`` later)."""
    budget = dec.args(doc, "budget", path)
    for key, value in (budget or {}).items():
        if type(value) in (int, float) and not budget_figure(value):
            raise dec.fail(f"{path}.budget.{key}", f"a budget figure must be finite and at most 1e15, got {_kind(value)}")
    return budget


def _b_loop(dec: _Decoder, doc: Mapping[str, Json], path: str, depth: int, common: dict[str, Any]) -> Node:
    body = dec.node(doc["body"], f"{path}.body", depth + 1)
    return Loop(body=body, init=doc.get("init"), **common)


_FIELDS: Final[dict[Op, tuple[set[str], set[str]]]] = {
    Op.PRIM: ({"step"}, set()),
    Op.IDENT: (set(), set()),
    Op.ARR: ({"pure"}, {"args"}),
    Op.SEQ: ({"steps"}, set()),
    Op.PAR: ({"branches"}, {"merge", "k", "hedgeMs", "reducer"}),
    Op.EACH: ({"body"}, {"maxParallel", "reducer"}),
    Op.ALT: ({"branches"}, {"pred", "selector", "cases"}),
    Op.ITER_UP_TO: ({"body", "max"}, {"until"}),
    Op.EVAL_PLAN: ({"planner"}, set()),
    Op.APP: ({"controller"}, {"tools", "subflows", "budget", "maxRounds"}),
    Op.LOOP: ({"body"}, {"init"}),
}

_BUILDERS: Final[dict[Op, Callable[[_Decoder, Mapping[str, Json], str, int, dict[str, Any]], Node]]] = {
    Op.PRIM: _b_prim,
    Op.IDENT: _b_ident,
    Op.ARR: _b_arr,
    Op.SEQ: _b_seq,
    Op.PAR: _b_par,
    Op.EACH: _b_each,
    Op.ALT: _b_alt,
    Op.ITER_UP_TO: _b_iter,
    Op.EVAL_PLAN: _b_eval,
    Op.APP: _b_app,
    Op.LOOP: _b_loop,
}


def decode(doc: Json | str | bytes) -> Node:
    """Decode IR JSON (object, text or UTF-8 bytes) into a node; ids are optional."""
    if isinstance(doc, bytes | bytearray | str):
        # One strict loader for outside JSON (SPEC §22.8): duplicate keys, lone surrogates,
        # nesting, number size and the document size are refused before any field is read.
        try:
            doc = loads_strict(doc, max_chars=MAX_DOCUMENT_BYTES)
        except CanonicalJSONError as exc:
            raise IRDecodeError(str(exc), path=exc.path) from None
    else:
        try:
            check_json(doc)
        except CanonicalJSONError as exc:
            raise IRDecodeError(str(exc), path=exc.path) from None
        if has_lone_surrogate(doc):
            raise IRDecodeError("document holds a lone surrogate (not valid Unicode)")
    return _Decoder().node(doc, "$", 1)
