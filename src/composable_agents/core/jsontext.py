"""Strict parsing of JSON text from outside (SPEC §22.8): one loader for every decoder.

The IR decoder, plan decoding and controller replies all read JSON text that
an attacker may have written. :func:`loads_strict` parses it and rejects, with
:class:`~composable_agents.errors.CanonicalJSONError`, what :func:`json.loads`
silently accepts or crashes on: a duplicate object key (``{"tool": "safe",
"tool": "evil"}`` would otherwise decode as ``evil``), a lone UTF-16
surrogate (which later fails to encode), ``NaN``/``Infinity``, a number too
long or too large for a float, nesting deeper than the canonical limit (a
``RecursionError`` otherwise) and a text over a size limit. It never raises
anything else.

Rejected alternative: patching each caller's ``json.loads`` with its own
hooks. Three decoders had three partial sets of checks; one loader keeps the
rules identical wherever outside JSON enters.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Final

from composable_agents.core.canonical import MAX_JSON_DEPTH, Json, check_json
from composable_agents.errors import CanonicalJSONError, StepTypeError

__all__ = ["MAX_NUMBER_DIGITS", "has_lone_surrogate", "loads_strict", "not_json"]

MAX_NUMBER_DIGITS: Final = 4200
"""Longest number literal accepted: what canonical JSON can still encode (14,000 bits).

Range limits for counts and bounds belong to the decoders that read them (the IR
decoder caps its integer fields at 2**53); this limit only keeps ``int()``'s own
digit limit from surfacing as an untyped ``ValueError``.
"""

_FLAT: Final = (str, int, bool, type(None))
"""Scalars that are always JSON (floats need the finiteness check)."""
_ESCAPED_SURROGATE: Final = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE: Final = re.compile("[\ud800-\udfff]")


class _Reject(ValueError):
    """Raised inside the parser's hooks; turned into a CanonicalJSONError by :func:`loads_strict`."""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                msg = f"duplicate object key {key[:60]!r}"
                raise _Reject(msg)
            seen.add(key)
    return out


def _int(text: str) -> int:
    if len(text) > MAX_NUMBER_DIGITS:
        msg = f"integer literal of {len(text)} digits (limit {MAX_NUMBER_DIGITS})"
        raise _Reject(msg)
    return int(text)


def _float(text: str) -> float:
    if len(text) > MAX_NUMBER_DIGITS:
        msg = f"number literal of {len(text)} characters (limit {MAX_NUMBER_DIGITS})"
        raise _Reject(msg)
    value = float(text)
    if not math.isfinite(value):
        msg = f"number {text[:40]} is too large for a float"
        raise _Reject(msg)
    return value


def _constant(name: str) -> Any:
    msg = f"{name} is not JSON"
    raise _Reject(msg)


def has_lone_surrogate(value: Json) -> bool:
    """True when any string (or object key) inside ``value`` holds a UTF-16 surrogate code point."""
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str:
            if _SURROGATE.search(item):
                return True
        elif kind is dict:
            for k, v in item.items():
                if type(k) is str and _SURROGATE.search(k):
                    return True
                stack.append(v)
        elif kind is list or kind is tuple:
            stack.extend(item)
    return False


def loads_strict(
    text: str | bytes | bytearray,
    *,
    max_chars: int | None = None,
    max_depth: int = MAX_JSON_DEPTH,
) -> Json:
    """Parse JSON ``text`` strictly; :class:`CanonicalJSONError` names the first fault.

    ``max_chars`` bounds the text (bytes or characters) before parsing.
    """
    if isinstance(text, bytes | bytearray):
        if max_chars is not None and len(text) > max_chars:
            msg = f"JSON text of {len(text)} bytes exceeds the limit of {max_chars}"
            raise CanonicalJSONError(msg)
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            msg = f"JSON text is not UTF-8: {exc.reason}"
            raise CanonicalJSONError(msg) from None
    if max_chars is not None and len(text) > max_chars:
        msg = f"JSON text of {len(text)} characters exceeds the limit of {max_chars}"
        raise CanonicalJSONError(msg)
    if _SURROGATE.search(text):
        msg = "JSON text holds a lone surrogate character (not valid Unicode)"
        raise CanonicalJSONError(msg)
    try:
        value = json.loads(
            text, object_pairs_hook=_pairs, parse_int=_int, parse_float=_float, parse_constant=_constant
        )
    except _Reject as exc:
        raise CanonicalJSONError(f"not strict JSON: {exc}") from None
    except RecursionError:
        msg = f"JSON text nested too deeply to parse (limit {max_depth} levels)"
        raise CanonicalJSONError(msg) from None
    except ValueError as exc:  # JSONDecodeError and int()'s digit limit
        raise CanonicalJSONError(f"not JSON: {exc}") from None
    if _ESCAPED_SURROGATE.search(text) and has_lone_surrogate(value):
        msg = "JSON text holds a lone surrogate escape (\\ud800-\\udfff without its pair)"
        raise CanonicalJSONError(msg)
    check_json(value, max_depth=max_depth)
    return value


def not_json(step: str, value: Any) -> StepTypeError | None:
    """The :class:`StepTypeError` for a non-JSON step result (a datetime, a set ...), else ``None``.

    A tool typed ``-> Any`` may return anything in Python; what crosses a step
    must be JSON on every backend, so the step that produced it fails here
    (locally) exactly as its activity fails on a worker.
    """
    if type(value) is dict:  # the common record of scalars: one pass, no stack
        for k, v in value.items():
            if type(k) is not str or type(v) not in _FLAT:
                break
        else:
            return None
    elif type(value) is list:
        for v in value:
            if type(v) not in _FLAT:
                break
        else:
            return None
    try:
        check_json(value)
    except CanonicalJSONError as exc:
        text = str(exc)
        head, _, shown = text.partition(" is not JSON: ")
        shape = head.removeprefix("value of type ").split(" at ", 1)[0] if shown else ""
        value_repr = f"a {shape} {shown}" if shape else text
        return StepTypeError(step, exc.path, "a JSON value (dict, list, str, int, float, bool or None)", value_repr)
    return None
