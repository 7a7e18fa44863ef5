"""The selector grammar shared by every verb that takes a selection (SPEC §19).

    selection := arg ...            several arguments: union
    arg       := term ("," term)*   comma: intersection
    term      := "@" atom           the atom, what depends on it, and everything those depend on
               | ["+"] atom ["+"]   leading "+": with its dependencies; trailing "+": with its dependents
    atom      := NAME | "tag:" TAG | "state:modified"

``--exclude`` takes the same grammar and is subtracted. Graph operators apply
to any atom (``+tag:support`` is every support entry and what they depend on).
A malformed selector raises :class:`SelectorError` with the position of the
fault; :func:`caret` renders it under the text.

Rejected: regular expressions over names (dbt's grammar is what users of "dbt
for agents" already know, and a typo should be an error, not an empty set).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

__all__ = ["Atom", "SelectorError", "Term", "caret", "parse", "select"]

_NAME: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.~\-/]*")
_METHODS: Final = ("tag", "state")
_STATES: Final = ("modified",)


class SelectorError(ValueError):
    """A malformed selector: ``text``, the fault's ``position`` and what is wrong."""

    def __init__(self, text: str, position: int, reason: str) -> None:
        super().__init__(f"{reason} at column {position + 1} of {text!r}")
        self.text = text
        self.position = position
        self.reason = reason


def caret(error: SelectorError) -> str:
    """The message, the selector, and a caret under the fault (what ``ca`` prints on exit 2)."""
    return f"malformed selector: {error.reason}\n  {error.text}\n  {' ' * error.position}^"


@dataclass(frozen=True, slots=True)
class Atom:
    """``NAME``, ``tag:T`` or ``state:S``; ``position`` is where it starts in its argument."""

    method: str
    value: str
    position: int


@dataclass(frozen=True, slots=True)
class Term:
    """One atom with its graph operators."""

    atom: Atom
    ancestors: bool = False
    descendants: bool = False
    at: bool = False


def _term(text: str, start: int, end: int) -> Term:
    chunk = text[start:end]
    if not chunk:
        raise SelectorError(text, start, "empty term (two commas, or a comma at an end)")
    pos = start
    at = chunk.startswith("@")
    if at:
        pos += 1
    ancestors = text.startswith("+", pos) and pos < end
    if ancestors:
        pos += 1
    stop = end
    descendants = stop > pos and text[stop - 1] == "+"
    if descendants:
        stop -= 1
    if at and (ancestors or descendants):
        raise SelectorError(text, start, "'@' already includes both directions; drop the '+'")
    body = text[pos:stop]
    if not body:
        raise SelectorError(text, pos, "an operator needs a name, tag:T or state:modified after it")
    method, sep, value = body.partition(":")
    if sep:
        if method not in _METHODS:
            raise SelectorError(text, pos, f"unknown selector method {method!r} (use tag: or state:)")
        vpos = pos + len(method) + 1
        if not value:
            raise SelectorError(text, vpos, f"{method}: needs a value")
        if method == "state" and value not in _STATES:
            raise SelectorError(text, vpos, f"unknown state {value!r} (the only state is 'modified')")
        match = _NAME.fullmatch(value)
        if match is None:
            bad = next((i for i, ch in enumerate(value) if not _NAME.fullmatch(value[: i + 1])), 0)
            raise SelectorError(text, vpos + bad, f"unexpected character {value[bad]!r}")
        return Term(Atom(method, value, pos), ancestors, descendants, at)
    if _NAME.fullmatch(body) is None:
        bad = next((i for i in range(len(body)) if _NAME.fullmatch(body[: i + 1]) is None), 0)
        raise SelectorError(text, pos + bad, f"unexpected character {body[bad]!r}")
    return Term(Atom("name", body, pos), ancestors, descendants, at)


def parse(text: str) -> list[Term]:
    """One selector argument as its comma-separated terms (raises :class:`SelectorError`)."""
    terms = []
    start = 0
    for i, ch in enumerate(text + ","):
        if ch == ",":
            terms.append(_term(text, start, i))
            start = i + 1
    return terms


def _closure(seeds: Iterable[str], edges: Mapping[str, Iterable[str]]) -> set[str]:
    out = set(seeds)
    stack = list(out)
    while stack:
        for nxt in edges.get(stack.pop(), ()):
            if nxt not in out:
                out.add(nxt)
                stack.append(nxt)
    return out


def _atom(
    text: str,
    atom: Atom,
    names: Mapping[str, Sequence[str]],
    modified: Callable[[], set[str]],
) -> set[str]:
    if atom.method == "name":
        if atom.value not in names:
            raise SelectorError(text, atom.position, f"no flow, agent or session named {atom.value!r}")
        return {atom.value}
    if atom.method == "tag":
        return {n for n, tags in names.items() if atom.value in tags}
    return modified()


def select(
    args: Sequence[str],
    *,
    tags: Mapping[str, Sequence[str]],
    deps: Mapping[str, Sequence[str]],
    exclude: Sequence[str] = (),
    modified: Callable[[], set[str]] = set,
) -> list[str]:
    """The names selected by ``args`` minus ``exclude`` (sorted); no ``args`` selects everything.

    ``tags`` maps every entry name to its tags, ``deps`` to its dependencies;
    ``modified`` computes ``state:modified`` only when a selector asks for it.
    """
    rev: dict[str, set[str]] = {n: set() for n in tags}
    for name, ds in deps.items():
        for d in ds:
            rev.setdefault(d, set()).add(name)

    def evaluate(text: str) -> set[str]:
        result: set[str] | None = None
        for term in parse(text):
            base = _atom(text, term.atom, tags, modified)
            found = set(base)
            if term.ancestors:
                found |= _closure(base, deps)
            if term.descendants:
                found |= _closure(base, rev)
            if term.at:
                down = _closure(base, rev)
                found = _closure(down, deps)
            result = found if result is None else result & found
        return result or set()

    chosen: set[str] = set()
    if args:
        for text in args:
            chosen |= evaluate(text)
    else:
        chosen = set(tags)
    for text in exclude:
        chosen -= evaluate(text)
    return sorted(chosen)
