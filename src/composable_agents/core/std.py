"""The std pure family: the record plumbing every authoring surface lowers to.

Each body is ``fn(value, **args)``, deterministic, and pinned like any pure.
A std body never changes once released: new behaviour gets a new name
(``std.merge2``), so artifacts frozen against an old library keep their hash
and their meaning. Errors are ``ValueError``/``TypeError`` with the pure's
name in the message; :func:`std.expect` raises ``StepTypeError``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from composable_agents.core.canonical import Json, JsonObject
from composable_agents.core.pures import PureDef, Registry
from composable_agents.errors import StepTypeError

__all__ = ["STD_NAMES", "STD_PURES"]


def _need_record(name: str, value: Json, what: str = "value") -> Mapping[str, Json]:
    if type(value) is not dict:
        msg = f"{name}: {what} must be an object, got {type(value).__name__}"
        raise TypeError(msg)
    return value


def _need_list(name: str, value: Json, size: int | None = None, *, at_least: bool = False) -> list[Json]:
    if type(value) not in (list, tuple):
        msg = f"{name}: value must be a list, got {type(value).__name__}"
        raise TypeError(msg)
    items = list(value)
    if size is not None and (len(items) < size if at_least else len(items) != size):
        bound = "at least " if at_least else ""
        msg = f"{name}: value must have {bound}{size} items, got {len(items)}"
        raise ValueError(msg)
    return items


def std_merge(value: Json, fields: list[str] | None = None) -> JsonObject:
    """``[left, right]`` → ``{**left, **right}`` (right wins, insertion order kept).

    With ``fields``, ``value`` is an env record and the named fields (records
    themselves) are merged in order.
    """
    if fields is not None:
        env = _need_record("std.merge", value)
        parts = [_need_record("std.merge", env[f], f"field {f!r}") for f in fields]
    else:
        parts = [_need_record("std.merge", v, f"item {i}") for i, v in enumerate(_need_list("std.merge", value, 2))]
    out: JsonObject = {}
    for part in parts:
        out.update(part)
    return out


def std_pluck(value: Json, key: str) -> Json:
    """``value[key]``."""
    record = _need_record("std.pluck", value)
    if key not in record:
        msg = f"std.pluck: key {key!r} is missing (keys: {sorted(record)[:10]})"
        raise KeyError(msg)
    return record[key]


def std_init(value: Json, key: str) -> JsonObject:
    """``{key: value}``."""
    return {key: value}


def std_assign(value: Json, key: str) -> JsonObject:
    """``[env, item]`` → ``{**env, key: item}``."""
    env, item = _need_list("std.assign", value, 2)
    out = dict(_need_record("std.assign", env, "env"))
    out[key] = item
    return out


def std_collect(value: Json, fields: list[str]) -> JsonObject:
    """``[env, *items]`` → env with ``fields[i]`` set to ``items[i]``."""
    items = _need_list("std.collect", value, len(fields) + 1)
    out = dict(_need_record("std.collect", items[0], "env"))
    for name, item in zip(fields, items[1:], strict=True):
        out[name] = item
    return out


def _select(name: str, value: Json, selector: Mapping[str, Json]) -> Json:
    if "field" in selector:
        record = _need_record(name, value)
        field = selector["field"]
        if field not in record:
            msg = f"{name}: field {field!r} is missing"
            raise KeyError(msg)
        return record[field]
    if selector.get("input") is True:
        return value
    if "const" in selector:
        return selector["const"]
    msg = f"{name}: selector {dict(selector)!r} is not {{'field': ...}}, {{'input': true}} or {{'const': ...}}"
    raise ValueError(msg)


def std_pack(value: Json, fields: Mapping[str, Mapping[str, Json]]) -> JsonObject:
    """A record ``{name: selected}`` from ``field``/``input``/``const`` selectors."""
    return {name: _select("std.pack", value, sel) for name, sel in fields.items()}


def std_unpack(value: Json, fields: list[str] | Mapping[str, str]) -> JsonObject:
    """Copy ``fields`` out of a packed record (a mapping renames ``{new: old}``)."""
    record = _need_record("std.unpack", value)
    pairs = fields.items() if isinstance(fields, Mapping) else ((f, f) for f in fields)
    out: JsonObject = {}
    for new, old in pairs:
        if old not in record:
            msg = f"std.unpack: field {old!r} is missing"
            raise KeyError(msg)
        out[new] = record[old]
    return out


def std_bind(value: Json, consts: Mapping[str, Json]) -> JsonObject:
    """``{**value, **consts}``; keys present in both raise."""
    record = _need_record("std.bind", value)
    clash = sorted(k for k in consts if k in record)
    if clash:
        msg = f"std.bind key collision: {', '.join(clash)}"
        raise ValueError(msg)
    return {**record, **consts}


def std_each_pack(
    value: Json,
    items: str,
    item: str,
    fields: list[str] | None = None,
    consts: Mapping[str, Json] | None = None,
) -> list[JsonObject]:
    """The per-item records before an ``each``.

    ``value`` is an env record; for every element ``x`` of ``value[items]`` the
    result holds ``{item: x, **{f: value[f] for f in fields}, **consts}``.
    """
    env = _need_record("std.each_pack", value)
    seq = env.get(items)
    if type(seq) not in (list, tuple):
        msg = f"std.each_pack: field {items!r} must be a list, got {type(seq).__name__}"
        raise TypeError(msg)
    shared: JsonObject = {f: env[f] for f in (fields or ())}
    if consts:
        shared.update(consts)
    return [{item: x, **shared} for x in seq]  # type: ignore[union-attr]


def std_matches(value: Json, schema: Mapping[str, Json]) -> bool:
    """Whether ``value`` matches the JSON Schema ``schema`` (compiled once)."""
    from composable_agents.core.schema import compile_schema

    return compile_schema(schema).is_valid(value)


def std_expect(value: Json, schema: Mapping[str, Json], step: str = "expect") -> Json:
    """``value`` if it matches ``schema``; else :class:`StepTypeError`."""
    from composable_agents.core.schema import SchemaViolation, compile_schema

    try:
        compile_schema(schema).check(value)
    except SchemaViolation as exc:
        raise StepTypeError(step, exc.path, exc.expected, exc.value_repr) from None
    return value


def std_branch_predicate(value: Json) -> bool:
    """``value["__branch__"]`` as the predicate of a binary ``alt`` (must be a bool)."""
    flag = _need_record("std.branch_predicate", value).get("__branch__")
    if type(flag) is not bool:
        msg = f"std.branch_predicate: __branch__ must be a boolean, got {flag!r}"
        raise TypeError(msg)
    return flag


def std_branch_selector(value: Json) -> Json:
    """``value["__branch__"]`` as the selector of a switch ``alt``."""
    record = _need_record("std.branch_selector", value)
    if "__branch__" not in record:
        msg = "std.branch_selector: __branch__ is missing"
        raise KeyError(msg)
    return record["__branch__"]


def std_continue_with(value: Json) -> JsonObject:
    """``{"__continue__": value}``: ask for a fresh segment with input ``value``."""
    return {"__continue__": value}


# -- fan-out patterns (vote, review) ---------------------------------------------------


def std_vote(value: Json, key: str | None = None) -> Json:
    """The most common item of a list (compared by canonical JSON, or by ``item[key]``).

    Ties go to the value whose first occurrence has the lowest index; the
    winning item itself (its first occurrence) is returned.
    """
    from composable_agents.core.canonical import canonical_dumps

    items = _need_list("std.vote", value, 1, at_least=True)
    counts: dict[str, int] = {}
    first: dict[str, int] = {}
    for i, item in enumerate(items):
        if key is not None:
            probe = _need_record("std.vote", item, f"item {i}")
            if key not in probe:
                msg = f"std.vote: item {i} has no field {key!r}"
                raise KeyError(msg)
            basis = probe[key]
        else:
            basis = item
        text = canonical_dumps(basis)
        counts[text] = counts.get(text, 0) + 1
        first.setdefault(text, i)
    best = min(counts, key=lambda t: (-counts[t], first[t]))
    return items[first[best]]


def std_review_start(value: Json) -> JsonObject:
    """The state of a ``review`` loop before the first draft."""
    return {"input": value, "draft": None, "feedback": None, "approved": False, "rounds": 0}


def std_review_verdict(value: Json) -> JsonObject:
    """``[state, verdict]`` → the state with the reviewer's ``approved``/``feedback`` and one more round."""
    state, verdict = _need_list("std.review_verdict", value, 2)
    record = _need_record("std.review_verdict", state, "state")
    answer = _need_record("std.review_verdict", verdict, "reviewer reply")
    if type(answer.get("approved")) is not bool:
        msg = f"std.review_verdict: the reviewer must reply {{'approved': bool, 'feedback': ...}}, got {answer!r}"
        raise TypeError(msg)
    return {
        **record,
        "approved": answer["approved"],
        "feedback": answer.get("feedback"),
        "rounds": int(record.get("rounds", 0)) + 1,
    }


def std_review_done(value: Json) -> bool:
    """The ``until`` of a ``review`` loop: the reviewer approved."""
    return _need_record("std.review_done", value).get("approved") is True


def std_review_result(value: Json) -> JsonObject:
    """A finished ``review`` loop as ``{"draft", "approved", "feedback", "rounds"}``."""
    record = _need_record("std.review_result", value)
    return {key: record.get(key) for key in ("draft", "approved", "feedback", "rounds")}


_BODIES: Final[dict[str, Callable[..., Any]]] = {
    "std.merge": std_merge,
    "std.pluck": std_pluck,
    "std.init": std_init,
    "std.assign": std_assign,
    "std.collect": std_collect,
    "std.pack": std_pack,
    "std.unpack": std_unpack,
    "std.bind": std_bind,
    "std.each_pack": std_each_pack,
    "std.matches": std_matches,
    "std.expect": std_expect,
    "std.branch_predicate": std_branch_predicate,
    "std.branch_selector": std_branch_selector,
    "std.continue_with": std_continue_with,
}

_PATTERN_BODIES: Final[dict[str, Callable[..., Any]]] = {
    "std.vote": std_vote,
    "std.review_start": std_review_start,
    "std.review_verdict": std_review_verdict,
    "std.review_done": std_review_done,
    "std.review_result": std_review_result,
}
"""Helpers the derived combinators (``vote``, ``review``) lower to; pinned like the family."""

STD_NAMES: Final = tuple(_BODIES)
"""The names of the std pure family, in documentation order."""


def _build() -> dict[str, PureDef]:
    scratch = Registry()
    for name, fn in {**_BODIES, **_PATTERN_BODIES}.items():
        scratch.register_pure(name, fn, std=True)
    return dict(scratch.pures)


STD_PURES: Final[dict[str, PureDef]] = _build()
"""Every std pure's definition, source hash included."""
