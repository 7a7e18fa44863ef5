"""Diagnostics as data, and ``explain`` to teach from them.

A :class:`Diagnostic` is an immutable record: a stable ``code`` (listed in
``docs/diagnostics.md``), the ``node_id`` it is about, a message, a severity,
a ``hint`` (printed as the ``fix:`` line) and, with source capture on, the
user's ``file:line (expr)``. Passes return lists of diagnostics — all of
them, never only the first — and deploy decides what blocks.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from composable_agents.core.canonical import JsonObject
from composable_agents.core.ir import SourceLoc

__all__ = [
    "Diagnostic",
    "Severity",
    "explain",
    "blocking",
    "set_source_capture",
    "source_capture_enabled",
]

Severity = Literal["error", "warning", "info"]

_CAPTURE: list[bool] = [os.environ.get("COMPOSABLE_AGENTS_SOURCE_CAPTURE", "") not in ("", "0", "false")]


def set_source_capture(enabled: bool) -> None:
    """Turn recording of the user's source line on authoring calls on or off."""
    _CAPTURE[0] = bool(enabled)


def source_capture_enabled() -> bool:
    """Whether authoring calls record their source location."""
    return _CAPTURE[0]


@dataclass(frozen=True, slots=True, kw_only=True)
class Diagnostic:
    """One finding of a compiler pass.

    ``severity == "error"`` blocks a strict deploy; warnings and infos do not.
    """

    code: str
    node_id: str
    message: str
    severity: Severity = "error"
    hint: str = ""
    source: SourceLoc | None = None

    @property
    def blocking(self) -> bool:
        """True for errors (they stop a strict deploy)."""
        return self.severity == "error"

    def render(self) -> str:
        """The diagnostic as ``explain`` prints it."""
        lines = [f"- [{self.code}@{self.node_id}] {self.severity}: {self.message}"]
        if self.source is not None:
            lines.append(f"    --> {self.source.render()}")
        if self.hint:
            lines.append(f"    fix: {self.hint}")
        return "\n".join(lines)

    def to_json(self) -> JsonObject:
        """The diagnostic as a JSON record (``source`` as ``file:line`` text)."""
        out: JsonObject = {
            "code": self.code,
            "node": self.node_id,
            "message": self.message,
            "severity": self.severity,
            "hint": self.hint,
        }
        if self.source is not None:
            out["source"] = self.source.render()
        return out


_ORDER: Final = {"error": 0, "warning": 1, "info": 2}


def blocking(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """The diagnostics that block a strict deploy."""
    return [d for d in diagnostics if d.blocking]


def explain(diagnostics: Sequence[Diagnostic] | Iterable[Diagnostic]) -> str:
    """Render diagnostics for people: blocking ones first, each with its ``fix:`` line."""
    items = sorted(diagnostics, key=lambda d: _ORDER.get(d.severity, 3))
    if not items:
        return "No diagnostics."
    sections: list[str] = []
    block = [d for d in items if d.blocking]
    rest = [d for d in items if not d.blocking]
    if block:
        sections.append("Blocking diagnostics:\n" + "\n".join(d.render() for d in block))
    if rest:
        sections.append("Other diagnostics:\n" + "\n".join(d.render() for d in rest))
    return "\n".join(sections)
