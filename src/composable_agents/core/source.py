"""Where the user wrote an authoring call: source capture for diagnostics.

Authoring constructors (kernel, derived, ``@flow``, the operators) call
:func:`capture_source` and store the result as the node's ``src``, so a
deploy diagnostic can point at ``--> file:line``. It lives in the core
because every authoring surface needs it and the compiler only reads it.
"""

from __future__ import annotations

import linecache
import os
import sys
from functools import lru_cache
from types import FrameType
from typing import Final

from composable_agents.core.ir import SourceLoc

__all__ = ["capture_source", "set_source_capture", "source_capture_enabled"]

_CAPTURE: list[bool] = [os.environ.get("COMPOSABLE_AGENTS_SOURCE_CAPTURE", "1").lower() not in ("0", "false", "off", "no")]
"""On by default on every surface (SPEC §22.10); ``COMPOSABLE_AGENTS_SOURCE_CAPTURE=0`` turns it off."""


def set_source_capture(enabled: bool) -> None:
    """Turn recording of the user's source line on authoring calls on or off."""
    _CAPTURE[0] = bool(enabled)


def source_capture_enabled() -> bool:
    """Whether authoring calls record their source location."""
    return _CAPTURE[0]


_PACKAGE_DIR: Final = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def capture_source(expr: str | None = None) -> SourceLoc | None:
    """Where the user wrote the current authoring call (``None`` when capture is off).

    Walks up the stack past every frame inside ``composable_agents`` and
    returns the first user frame's file, line and source text (or ``expr``).
    Authoring constructors call this and store the result as the node's
    ``src``. Capture is on by default; the frame walk costs a dict lookup per
    frame, and it costs nothing while capture is off.
    """
    if not _CAPTURE[0]:
        return None
    frame: FrameType | None = sys._getframe(1)
    inside = _INSIDE
    while frame is not None:
        filename = frame.f_code.co_filename
        found = inside.get(filename)
        if found is None:
            found = inside[filename] = os.path.abspath(filename).startswith(_PACKAGE_DIR + os.sep)
        if not found:
            break
        frame = frame.f_back
    if frame is None:
        return None
    filename = frame.f_code.co_filename
    line = frame.f_lineno
    key = (filename, line, expr)
    loc = _LOCS.get(key)
    if loc is None:
        # One immutable SourceLoc per user line: a loop building many nodes on one line pays once.
        if len(_LOCS) >= _MAX_LOCS:
            _LOCS.clear()
        text = expr if expr is not None else linecache.getline(filename, line).strip()
        loc = _LOCS[key] = SourceLoc(_basename(filename), line, text)
    return loc


_LOCS: dict[tuple[str, int, str | None], SourceLoc] = {}
_MAX_LOCS: Final = 65_536


_INSIDE: dict[str, bool] = {}
"""Per code file: is it inside this package? (Capture is on by default, so the walk stays a dict lookup.)"""


@lru_cache(maxsize=1024)
def _basename(filename: str) -> str:
    return os.path.basename(filename)
