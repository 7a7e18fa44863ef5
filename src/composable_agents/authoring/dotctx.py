"""``.ctx`` reasoner definitions: a reasoner kept in a text file beside the code.

A ``.ctx`` file is YAML front matter (between ``---`` lines) holding the
reasoner's fields, followed by the system prompt as plain text::

    ---
    name: support_reply
    model: anthropic:claude-haiku-4-5-20251001
    temperature: 0.2
    max_tokens: 400
    tools: [lookup_ticket]
    ---
    Draft one concise support reply as JSON.

:func:`load_reasoner` parses it into a :class:`Reasoner`; :func:`reasoner_from_ctx`
also registers it and returns the ``think`` leaf, so a prompt change is a file
change whose content lands in the reasoner's definition hash. Typed ``reply=``
and ``prompt=`` types stay in Python (a file cannot name a Python type).
Rejected alternative: a bespoke template language — front matter plus text is
what prompt authors already edit, and YAML is already a core dependency.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import yaml

from composable_agents.authoring.leaves import Reasoner, Think, think
from composable_agents.core.pures import Registry
from composable_agents.errors import CompositionError

__all__ = ["CtxError", "load_reasoner", "parse_ctx", "reasoner_from_ctx"]

_FIELDS: Final = {"name", "model", "temperature", "max_tokens", "tools"}


class CtxError(CompositionError, ValueError):
    """A ``.ctx`` file that does not describe a reasoner; the message names the file and field."""


def parse_ctx(text: str, *, source: str = "<ctx>", reply: Any = None, prompt: Any = None) -> Reasoner[Any, Any]:
    """Parse ``.ctx`` text (front matter + system prompt) into a :class:`Reasoner`."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        msg = f"{source}: a .ctx file starts with a '---' line opening its front matter"
        raise CtxError(msg)
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        msg = f"{source}: the front matter is not closed by a second '---' line"
        raise CtxError(msg) from None
    try:
        meta = yaml.safe_load("\n".join(lines[1:end])) or {}
    except yaml.YAMLError as exc:
        msg = f"{source}: the front matter is not valid YAML: {exc}"
        raise CtxError(msg) from None
    if not isinstance(meta, dict):
        msg = f"{source}: the front matter must be a mapping of fields, got {type(meta).__name__}"
        raise CtxError(msg)
    unknown = sorted(set(meta) - _FIELDS)
    if unknown:
        msg = f"{source}: unknown field {unknown[0]!r} (allowed: {', '.join(sorted(_FIELDS))})"
        raise CtxError(msg)
    for key in ("name", "model"):
        if not isinstance(meta.get(key), str) or not meta[key]:
            msg = f"{source}: field {key!r} must be a non-empty string, got {meta.get(key)!r}"
            raise CtxError(msg)
    temperature = meta.get("temperature")
    if temperature is not None and (isinstance(temperature, bool) or not isinstance(temperature, int | float)):
        msg = f"{source}: field 'temperature' must be a number, got {temperature!r}"
        raise CtxError(msg)
    max_tokens = meta.get("max_tokens")
    if max_tokens is not None and (type(max_tokens) is not int or max_tokens < 1):
        msg = f"{source}: field 'max_tokens' must be a positive integer, got {max_tokens!r}"
        raise CtxError(msg)
    tools = meta.get("tools", [])
    if not isinstance(tools, list) or not all(isinstance(t, str) and t for t in tools):
        msg = f"{source}: field 'tools' must be a list of tool keys, got {tools!r}"
        raise CtxError(msg)
    system = "\n".join(lines[end + 1 :]).strip()
    return Reasoner(
        name=meta["name"],
        model=meta["model"],
        system=system,
        reply=reply,
        prompt=prompt,
        tools=tuple(tools),
        temperature=float(temperature) if temperature is not None else None,
        max_tokens=max_tokens,
    )


def load_reasoner(path: str | Path, *, reply: Any = None, prompt: Any = None) -> Reasoner[Any, Any]:
    """Read the ``.ctx`` file at ``path`` into a :class:`Reasoner`."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        msg = f"cannot read .ctx file {str(file)!r}: {exc.strerror or exc}"
        raise CtxError(msg) from None
    return parse_ctx(text, source=str(file), reply=reply, prompt=prompt)


def reasoner_from_ctx(
    path: str | Path, *, reply: Any = None, prompt: Any = None, registry: Registry | None = None
) -> Think[Any, Any]:
    """The ``think`` leaf of the reasoner defined in the ``.ctx`` file at ``path`` (registered)."""
    leaf: Think[Any, Any] = think(load_reasoner(path, reply=reply, prompt=prompt), registry=registry)
    return leaf
