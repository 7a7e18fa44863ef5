"""Canonical JSON and content hashes.

Canonical JSON is: sorted keys, compact separators, UTF-8, no NaN/Infinity.
Values are *checked*, never coerced: a tuple is accepted as an array (tuples
travel as JSON arrays), but a set, bytes, a non-``str`` dict key, a ``float``
NaN or an arbitrary object raises :class:`CanonicalJSONError` with the JSON
path of the offending part. Hashes are ``"sha256:" + hex`` over the canonical
bytes. Python's salted ``hash()`` is never used for identity.

The check is iterative (no recursion), so a pathologically deep value fails
with a clear error instead of ``RecursionError``.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any, Final, TypeAlias

from composable_agents.errors import CanonicalJSONError

__all__ = [
    "MAX_JSON_DEPTH",
    "Json",
    "JsonObject",
    "canonical_bytes",
    "canonical_dumps",
    "check_json",
    "content_hash",
    "copy_json",
    "hash_bytes",
]

Json: TypeAlias = Any
"""A JSON value: ``dict[str, Json] | list[Json] | str | int | float | bool | None``.

Kept as ``Any`` at the type level because mypy cannot express the recursive
union without making every consumer cast; the run-time check is
:func:`check_json`.
"""

JsonObject: TypeAlias = dict[str, Any]

MAX_JSON_DEPTH: Final = 512
"""Deepest nesting of arrays/objects accepted in any canonical value."""

_SCALARS: Final = (str, int, bool, type(None))
_MAX_INT_BITS: Final = 14_000
"""Larger ints exceed Python's int-to-text digit limit (4,300), so they cannot be encoded."""


def _too_long(value: Any) -> bool:
    return int(value).bit_length() > _MAX_INT_BITS


def _path(parent: str, key: object) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}"


def check_json(value: object, *, path: str = "$", max_depth: int = MAX_JSON_DEPTH) -> None:
    """Raise :class:`CanonicalJSONError` unless ``value`` is a strict JSON value.

    ``path`` prefixes the error's JSON path. Tuples count as arrays.
    """
    stack: list[tuple[object, str, int]] = [(value, path, 0)]
    pop = stack.pop
    push = stack.append
    while stack:
        item, where, depth = pop()
        kind = type(item)
        if kind in _SCALARS:
            if kind is int and _too_long(item):
                msg = f"integer at {where} has too many digits to encode as JSON"
                raise CanonicalJSONError(msg, path=where)
            continue
        if kind is float:
            if not math.isfinite(item):  # type: ignore[arg-type]
                msg = f"non-finite number {item!r} at {where} is not JSON"
                raise CanonicalJSONError(msg, path=where)
            continue
        if kind is dict or kind is list or kind is tuple:
            if depth >= max_depth:
                msg = f"value nested deeper than {max_depth} levels at {where}"
                raise CanonicalJSONError(msg, path=where)
            if isinstance(item, dict):
                for key, sub in item.items():
                    if type(key) is not str:
                        msg = f"object key {key!r} at {where} is not a string"
                        raise CanonicalJSONError(msg, path=where)
                    push((sub, _path(where, key), depth + 1))
            elif isinstance(item, list | tuple):
                for index, sub in enumerate(item):
                    push((sub, _path(where, index), depth + 1))
            continue
        if isinstance(item, bool | int | str):
            # Subclasses (IntEnum, StrEnum, ...) encode as their base value.
            if isinstance(item, int) and _too_long(item):
                msg = f"integer at {where} has too many digits to encode as JSON"
                raise CanonicalJSONError(msg, path=where)
            continue
        if isinstance(item, float) and math.isfinite(item):
            continue
        msg = f"value of type {kind.__name__} at {where} is not JSON: {_short(item)}"
        raise CanonicalJSONError(msg, path=where)


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


_ENCODER: Final = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def canonical_dumps(value: object, *, checked: bool = False) -> str:
    """The canonical JSON text of ``value`` (checked first unless ``checked``)."""
    if not checked:
        check_json(value)
    return _ENCODER.encode(value)


def canonical_bytes(value: object, *, checked: bool = False) -> bytes:
    """The canonical JSON of ``value`` as UTF-8 bytes.

    A string holding a lone surrogate (not valid Unicode) raises
    :class:`CanonicalJSONError`, never ``UnicodeEncodeError`` (SPEC §22.8).
    """
    text = canonical_dumps(value, checked=checked)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        msg = f"a string holds a lone surrogate (not valid Unicode) near {text[max(0, exc.start - 20):exc.start]!r}"
        raise CanonicalJSONError(msg) from None


def hash_bytes(data: bytes) -> str:
    """``"sha256:" + hex`` of raw bytes."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def content_hash(value: object, *, checked: bool = False) -> str:
    """``"sha256:" + hex`` over the canonical JSON bytes of ``value``."""
    return hash_bytes(canonical_bytes(value, checked=checked))


def copy_json(value: object) -> Json:
    """A checked deep copy of a JSON value with tuples turned into lists."""
    check_json(value)
    return json.loads(_ENCODER.encode(value))
