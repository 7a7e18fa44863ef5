"""The projection's byte budget: how big a recorded value is, and the marker that replaces a big one.

The recorder bounds its events by count *and* by bytes (SPEC §22.9): a loop
whose value grows every round would otherwise keep every round's copy alive.
A value over the per-value budget is recorded as a small marker
``{"__elided__": {"type": "str", "bytes": n}}`` (``atLeast`` when the walk
stopped at the budget), and the recorder drops its oldest events (in its
scheduling-independent order) while the values it keeps exceed the total
budget. Sizes are JSON-text estimates from a bounded, iterative walk that
stops at the budget, so measuring a huge value costs no more than the budget.

Rejected alternative: serializing each value to measure it (``json.dumps``)
— exact, but it costs the whole value's size on every step and raises on the
values a failing step produced.
"""

from __future__ import annotations

from typing import Any, Final

from composable_agents.core.canonical import Json, JsonObject

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_MAX_VALUE_BYTES", "ELIDED_KEY", "ValueBudget", "elided_marker", "value_bytes"]

DEFAULT_MAX_BYTES: Final = 32 * 1024 * 1024
"""Bytes of recorded values an in-memory projection keeps (its oldest events go first)."""

DEFAULT_MAX_VALUE_BYTES: Final = 64 * 1024
"""Largest value recorded as is; a bigger one becomes an :data:`ELIDED_KEY` marker."""

ELIDED_KEY: Final = "__elided__"
"""Key of the marker record that stands for a value over the per-value byte budget."""

_MARKER_BYTES: Final = 64
_SCALARS: Final = frozenset({int, float, bool, type(None)})
_REMEMBERED: Final = 8


def value_bytes(value: Any, limit: int | None = None) -> int:
    """About how many bytes ``value`` takes as JSON text; stops counting once past ``limit``."""
    total = 0
    bound = limit if limit is not None else -1
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str:
            total += len(item) + 2
        elif kind is dict or kind is list or kind is tuple:
            subs = item.values() if kind is dict else item
            total += 2 + len(item)
            if kind is dict:
                try:
                    total += 3 * len(item) + sum(map(len, item))  # JSON keys are strings
                except TypeError:  # a non-JSON key: count it as a number
                    total += 11 * len(item)
            if set(map(type, subs)) <= _SCALARS:  # a flat record or list: one C-level pass
                total += 8 * len(item)
                continue
            for sub in subs:
                sub_kind = type(sub)
                if sub_kind is str:
                    total += len(sub) + 2
                elif sub_kind is dict or sub_kind is list or sub_kind is tuple:
                    stack.append(sub)
                else:
                    total += 8
        else:
            total += 8
        if 0 <= bound < total:
            return total
    return total


def elided_marker(value: Any, measured: int, exact: bool) -> JsonObject:
    """The record a too-big ``value`` is replaced by in a projection."""
    kind = type(value)
    names: dict[type, str] = {str: "str", dict: "dict", list: "list", tuple: "list"}
    name = names.get(kind, kind.__name__)
    info: JsonObject = {"type": name, "bytes": measured}
    if not exact:
        info["atLeast"] = True
    return {ELIDED_KEY: info}


class ValueBudget:
    """Per-recorder state: the last measured value (steps often pass one object on) and recent elisions."""

    __slots__ = ("elided", "last", "max_value")

    def __init__(self, max_value: int = DEFAULT_MAX_VALUE_BYTES) -> None:
        self.max_value = max_value
        self.last: tuple[Any, Json, int] | None = None
        self.elided: dict[int, tuple[Any, JsonObject]] = {}
        """The few most recently elided values by id (with the object, so a reused id never matches)."""

    def sized(self, value: Any) -> tuple[Json, int]:
        """``(what to record, bytes charged)`` for a ``str``/``dict``/``list`` value."""
        last = self.last
        if last is not None and last[0] is value:
            return last[1], last[2]
        measured = value_bytes(value, self.max_value)
        if measured > self.max_value:
            marker = elided_marker(value, measured, type(value) is str)
            if len(self.elided) >= _REMEMBERED:
                self.elided.pop(next(iter(self.elided)))
            self.elided[id(value)] = (value, marker)
            out: tuple[Any, Json, int] = (value, marker, _MARKER_BYTES)
        else:
            out = (value, value, measured)
        self.last = out
        return out[1], out[2]

    def as_input(self, value: Any) -> Json:
        """The marker for ``value`` when it was elided as an earlier step's output, else ``value``."""
        hit = self.elided.get(id(value))
        if hit is not None and hit[0] is value:
            return hit[1]
        return value  # type: ignore[no-any-return,unused-ignore]
