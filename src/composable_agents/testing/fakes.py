"""``FakeLLM``: a scripted double of the ``LLM`` seam, for local runs and Temporal workers alike.

The seam is one callable, ``llm(reasoner, value)`` (SPEC §17), so a double
is one object: ``fake.script("name", reply_or_fn)`` decides what a reasoner
answers, and every call lands in ``fake.requests``. Pass the object itself
wherever an ``llm=`` is taken (``build_worker``, ``Agent.run``, and
``dry_run`` once it takes ``llm=``), or ``fake.fakes(deployment)`` as
``dry_run(reasoners=...)`` today. No hypothesis and no temporalio here: the
pytest plugin imports this module on every pytest start.

Rejected: a mock library patching provider SDKs (the seam makes it
unnecessary, and a patched SDK tests the patch), and one fixed reply for all
reasoners (flows branch on which reasoner answered).
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from composable_agents.core.canonical import Json

__all__ = ["FakeLLM", "LLMRequest", "UnscriptedReasoner"]


class UnscriptedReasoner(LookupError):
    """A reasoner asked a :class:`FakeLLM` that has no script for it (and no default)."""


@dataclass(frozen=True, slots=True)
class LLMRequest:
    """One recorded call: the reasoner's name, its definition (when known), the value, the principal."""

    name: str
    value: Json
    reasoner: Any = None
    principal: Json = None


_NO_DEFAULT: Any = object()


class FakeLLM:
    """An ``LLM`` double: ``script(name, reply_or_fn)``, then call it as ``llm(reasoner, value)``.

    A script is a constant reply, a list of replies served in order (the last
    one repeats), or a function of the value (``fn(value)``) or of the
    reasoner and the value (``fn(reasoner, value)``), sync or async.
    ``default`` answers every reasoner without a script; without it an
    unscripted reasoner raises :class:`UnscriptedReasoner` naming it.
    """

    def __init__(self, scripts: dict[str, Any] | None = None, *, default: Any = _NO_DEFAULT) -> None:
        self._scripts: dict[str, Any] = {}
        self._served: dict[str, int] = {}
        self._default = default
        self.requests: list[LLMRequest] = []
        # Workers call sync doubles from an executor thread: serve list scripts under a lock.
        self._lock = threading.Lock()
        for name, reply in (scripts or {}).items():
            self.script(name, reply)

    def script(self, name: str, reply_or_fn: Any) -> FakeLLM:
        """Answer reasoner ``name`` with ``reply_or_fn`` from now on; returns ``self`` to chain."""
        given: object = name
        if not isinstance(given, str) or not name:
            msg = f"FakeLLM.script(name, ...): `name` must be a reasoner name, got {name!r}"
            raise TypeError(msg)
        self._scripts[name] = list(reply_or_fn) if isinstance(reply_or_fn, tuple) else reply_or_fn
        self._served[name] = 0
        return self

    def default(self, reply_or_fn: Any) -> FakeLLM:
        """Answer every unscripted reasoner with ``reply_or_fn``; returns ``self``."""
        self._default = reply_or_fn
        return self

    def calls(self, name: str) -> list[LLMRequest]:
        """The recorded requests to reasoner ``name``, in order."""
        return [r for r in self.requests if r.name == name]

    def reset(self) -> None:
        """Forget recorded requests and restart every reply list."""
        self.requests.clear()
        self._served = dict.fromkeys(self._scripts, 0)

    def _pick(self, name: str) -> Any:
        if name in self._scripts:
            found = self._scripts[name]
        elif self._default is not _NO_DEFAULT:
            found = self._default
        else:
            scripted = ", ".join(sorted(self._scripts)) or "none"
            msg = f"FakeLLM has no script for reasoner {name!r} (scripted: {scripted}); call fake_llm.script({name!r}, reply)"
            raise UnscriptedReasoner(msg)
        if isinstance(found, list):
            if not found:
                msg = f"FakeLLM script for {name!r} is an empty list of replies"
                raise UnscriptedReasoner(msg)
            n = self._served.get(name, 0)
            self._served[name] = n + 1
            return found[min(n, len(found) - 1)]
        return found

    def __call__(self, reasoner: Any, value: Json, *, principal: Json = None) -> Any:
        """The ``LLM`` seam: record the request, then answer from the script (awaitable for async scripts)."""
        name = reasoner if isinstance(reasoner, str) else str(getattr(reasoner, "name", reasoner))
        definition = None if isinstance(reasoner, str) else reasoner
        with self._lock:
            self.requests.append(LLMRequest(name, value, definition, principal))
            found = self._pick(name)
        if not callable(found):
            return found
        try:
            positional = [
                p
                for p in inspect.signature(found).parameters.values()
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
            ]
        except (TypeError, ValueError):
            positional = []
        if len(positional) >= 2:
            return found(definition if definition is not None else name, value)
        return found(value)

    def fakes(self, deployment: Any = None, names: Iterable[str] | None = None) -> dict[str, Callable[[Json], Any]]:
        """``{name: fn(value)}`` for ``dry_run(reasoners=...)``, each call recorded like a worker's.

        ``deployment`` (a Deployment) supplies every reasoner it reaches and
        their definitions; otherwise the scripted ``names`` (default: all).
        """
        definitions: dict[str, Any] = {}
        if deployment is not None:
            definitions = dict(deployment.frozen.reasoners)
            wanted = sorted(deployment.program.reasoners)
        else:
            wanted = sorted(names if names is not None else self._scripts)
        out: dict[str, Callable[[Json], Any]] = {}
        for name in wanted:
            out[name] = self._bound(definitions.get(name) or name)
        return out

    def _bound(self, reasoner: Any) -> Callable[[Json], Any]:
        def answer(value: Json, *, principal: Json = None) -> Any:
            return self(reasoner, value, principal=principal)

        return answer

    def __repr__(self) -> str:
        return f"<FakeLLM scripts={sorted(self._scripts)} requests={len(self.requests)}>"
