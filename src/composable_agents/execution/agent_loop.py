"""The bounded agent loop's pure logic: the controller protocol and budgets.

Nothing here performs IO or reads a clock: the runtime
(:mod:`composable_agents.execution.agent_runtime`) feeds this module values and
applies its verdicts, so the same rules run locally and inside a durable
workflow.

The controller protocol (SPEC §10). Each round the controller reasoner
receives ``{"input": <run input>, "trace": [<one entry per earlier round>],
"last": <last observation or null>}`` and answers exactly one action::

    {"action": "finish", "value": V}
    {"action": "escalate", "reason": R}
    {"action": "call", "tool": "<tool key>", "input": X}
    {"action": "sub", "flow": "<subflow ref>", "input": X}

Anything else is a :class:`ControllerError` (strict, the default). The
opt-in permissive mode also accepts a JSON *text* holding one action, a
one-element list, an upper-case action name, extra keys (ignored) and a
missing ``value``/``input`` (``null``).

Plan extraction (what an agent did → a replayable staged plan) lives in
:mod:`composable_agents.agents.plans`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from composable_agents.core.canonical import Json, JsonObject, canonical_dumps, copy_json
from composable_agents.core.jsontext import has_lone_surrogate, loads_strict
from composable_agents.core.pures import DEFAULT_REGISTRY
from composable_agents.errors import CanonicalJSONError

__all__ = [
    "ACTIONS",
    "CONST_PURE",
    "CONTROLLER_MODE_KEY",
    "DEFAULT_CONTROLLER_COST_USD",
    "DEFAULT_MAX_ROUNDS",
    "Action",
    "BudgetGuard",
    "CallSub",
    "CallTool",
    "ControllerError",
    "ControllerMode",
    "Escalate",
    "Finish",
    "action_json",
    "denial",
    "estimate_tokens",
    "parse_action",
    "round_input",
    "trace_entry",
]

ACTIONS: Final = ("finish", "escalate", "call", "sub")
"""The closed action set of a controller reply."""

ControllerMode = Literal["strict", "permissive"]

DEFAULT_MAX_ROUNDS: Final = 16
"""Rounds an ``app`` gets when it sets no ``max_rounds``: the loop is always bounded."""

DEFAULT_CONTROLLER_COST_USD: Final = 0.001
"""Estimated cost of one controller call when the app's ``Ann(cost_usd=...)`` sets none."""

CONTROLLER_MODE_KEY: Final = "controllerMode"
"""Key in an app's ``budget`` record that opts into the permissive controller protocol."""

RESUME_KEY: Final = "__agent_resume__"
"""Input key that resumes an agent loop from a continue-as-new state (see ``AgentContinue``)."""

CONST_PURE: Final = "ca.plan.const"
"""Pure used by extracted plans to feed a constant input to a step."""


def _plan_const(value: Json, const: Json = None) -> Json:
    """Ignore the flowing value and return ``const`` (extracted plans' constant inputs)."""
    del value
    return const


DEFAULT_REGISTRY.register_pure(CONST_PURE, _plan_const)


# -- actions -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Finish:
    """End the run with ``value``."""

    value: Json


@dataclass(frozen=True, slots=True)
class Escalate:
    """End the run with status ``escalated`` and ``reason``."""

    reason: str


@dataclass(frozen=True, slots=True)
class CallTool:
    """Call the granted tool ``tool`` with ``input``."""

    tool: str
    input: Json


@dataclass(frozen=True, slots=True)
class CallSub:
    """Run the granted sub-flow ``flow`` with ``input``."""

    flow: str
    input: Json


Action = Finish | Escalate | CallTool | CallSub


@dataclass(frozen=True, slots=True)
class ControllerError:
    """A reply that is not exactly one valid action; ``reason`` says why."""

    reason: str
    reply: Json = None


_REQUIRED: Final[dict[str, frozenset[str]]] = {
    "finish": frozenset({"action", "value"}),
    "escalate": frozenset({"action", "reason"}),
    "call": frozenset({"action", "tool", "input"}),
    "sub": frozenset({"action", "flow", "input"}),
}


def _short(value: object) -> str:
    try:
        text = repr(value)
    except (RecursionError, ValueError):  # a 100k-deep value or a huge int: parse_action never raises
        return f"<{type(value).__name__} too deep or large to show>"
    return text if len(text) <= 120 else text[:117] + "..."


def _safe_json(value: object) -> Json:
    """``value`` if it is JSON, else its short repr (replies are recorded verbatim when possible)."""
    try:
        return copy_json(value)
    except Exception:  # noqa: BLE001 - anything not JSON is recorded by repr
        return _short(value)


def parse_action(reply: object, *, mode: ControllerMode = "strict") -> Action | ControllerError:
    """The one action in a controller ``reply``, or a :class:`ControllerError`.

    Never raises: any reply, however malformed, maps to a value.
    """
    try:
        return _parse(reply, mode)
    except Exception as exc:  # noqa: BLE001 - defensive: parsing must never escape the run
        return ControllerError(f"unparseable reply ({type(exc).__name__})", _safe_json(reply))


def _parse(reply: object, mode: ControllerMode) -> Action | ControllerError:
    permissive = mode == "permissive"
    if mode not in ("strict", "permissive"):
        return ControllerError(f"unknown controller mode {mode!r}", None)
    doc = reply
    if permissive and isinstance(doc, str):
        try:  # the strict loader (SPEC §22.8): '"tool": "safe", "tool": "evil"' is refused, not read as evil
            doc = loads_strict(doc)
        except CanonicalJSONError as exc:
            return ControllerError(f"reply text is not strict JSON: {exc}", _short(reply))
    if permissive and isinstance(doc, list) and len(doc) == 1:
        doc = doc[0]
    if type(doc) is not dict:
        return ControllerError(f"reply must be an object with an 'action', got {type(doc).__name__}", _safe_json(reply))
    if has_lone_surrogate(doc):
        return ControllerError("reply holds a lone surrogate (not valid Unicode)", None)
    kind = doc.get("action")
    if permissive and isinstance(kind, str):
        kind = kind.strip().lower()
    if not isinstance(kind, str) or kind not in _REQUIRED:
        return ControllerError(
            f"'action' must be one of {', '.join(ACTIONS)}, got {_short(kind)}", _safe_json(reply)
        )
    required = _REQUIRED[kind]
    keys = set(doc)
    if not permissive:
        if any(not isinstance(k, str) for k in keys):
            return ControllerError("reply keys must be strings", _safe_json(reply))
        missing = sorted(required - keys)
        extra = sorted(str(k) for k in keys - required)
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing {', '.join(missing)}")
            if extra:
                parts.append(f"unexpected {', '.join(extra)}")
            return ControllerError(f"a {kind!r} action has exactly {sorted(required)}: " + "; ".join(parts), _safe_json(reply))
    try:
        if kind == "finish":
            return Finish(copy_json(doc.get("value")))
        if kind == "escalate":
            reason = doc.get("reason")
            if not isinstance(reason, str):
                if not permissive:
                    return ControllerError("'reason' must be a string", _safe_json(reply))
                reason = "" if reason is None else canonical_dumps(copy_json(reason))
            return Escalate(reason)
        name_key = "tool" if kind == "call" else "flow"
        name = doc.get(name_key)
        if not isinstance(name, str) or not name:
            return ControllerError(f"'{name_key}' must be a non-empty string, got {_short(name)}", _safe_json(reply))
        value = copy_json(doc.get("input"))
    except Exception as exc:  # noqa: BLE001 - a non-JSON value inside the reply
        return ControllerError(f"reply is not JSON: {exc}", _safe_json(reply))
    if kind == "call":
        return CallTool(name, value)
    return CallSub(name, value)


def action_json(action: Action) -> JsonObject:
    """The canonical wire form of ``action`` (what traces record)."""
    if isinstance(action, Finish):
        return {"action": "finish", "value": action.value}
    if isinstance(action, Escalate):
        return {"action": "escalate", "reason": action.reason}
    if isinstance(action, CallTool):
        return {"action": "call", "tool": action.tool, "input": action.input}
    return {"action": "sub", "flow": action.flow, "input": action.input}


def round_input(run_input: Json, trace: Sequence[JsonObject], last: Json) -> JsonObject:
    """The controller's prompt value for one round."""
    return {"input": run_input, "trace": list(trace), "last": last}


def trace_entry(round_no: int, action: Action, status: str, observation: Json) -> JsonObject:
    """One trace entry: the round, the action taken, ``ok``/``denied``/``error``, and what came back."""
    return {"round": round_no, "action": action_json(action), "status": status, "observation": observation}


def denial(kind: str, name: str, reason: str, message: str = "") -> JsonObject:
    """The observation a denied call feeds back to the controller as ``last``."""
    out: JsonObject = {"denied": True, "kind": kind, "name": name, "reason": reason}
    if message:
        out["message"] = message
    return out


def resume_state(value: Json) -> JsonObject | None:
    """The loop state inside a ``{"__agent_resume__": state}`` input, else ``None``."""
    if type(value) is not dict or set(value) != {RESUME_KEY}:
        return None
    state = value[RESUME_KEY]
    if type(state) is not dict:
        return None
    keys = {"input", "trace", "last", "round", "spent", "started"}
    if not keys <= set(state) or type(state["trace"]) is not list or type(state["round"]) is not int:
        return None
    spent = state["spent"]
    if type(spent) is not dict or type(spent.get("cost")) not in (int, float) or type(spent.get("tokens")) is not int:
        return None
    return state


# -- budgets -------------------------------------------------------------------


def estimate_tokens(value: Json) -> int:
    """A deterministic token estimate: a quarter of the canonical JSON length, rounded up."""
    try:
        text = canonical_dumps(value)
    except Exception:  # noqa: BLE001 - estimates never fail
        try:
            text = repr(value)
        except (RecursionError, ValueError):  # too deep even for repr: the value is refused elsewhere
            text = ""
    return math.ceil(len(text) / 4)


@dataclass(slots=True)
class BudgetGuard:
    """Spend so far against a budget ``{"cost": usd, "tokens": n, "wallSeconds": s}``.

    An absent key is unconstrained. :meth:`refuse` is asked **before** a spend
    and names the exceeded dimension (or returns ``None``); :meth:`spend`
    records what was spent.
    """

    budget: Mapping[str, Json] | None = None
    started: float = 0.0
    cost: float = 0.0
    tokens: int = 0

    def _limit(self, key: str) -> float | None:
        if not self.budget:
            return None
        value = self.budget.get(key)
        if type(value) in (int, float):
            return float(value)  # type: ignore[arg-type]
        return None

    def refuse(self, *, cost: float = 0.0, tokens: int = 0, now: float | None = None) -> str | None:
        """The dimension (``cost``/``tokens``/``wallSeconds``) this spend would exceed, else ``None``."""
        limit = self._limit("cost")
        if limit is not None and self.cost + cost > limit + 1e-12:
            return "cost"
        limit = self._limit("tokens")
        if limit is not None and self.tokens + tokens > limit:
            return "tokens"
        limit = self._limit("wallSeconds")
        if limit is not None and now is not None and now - self.started > limit:
            return "wallSeconds"
        return None

    def spend(self, *, cost: float = 0.0, tokens: int = 0) -> None:
        """Record a spend."""
        self.cost += cost
        self.tokens += tokens

    def to_json(self) -> JsonObject:
        """``{"cost": spent, "tokens": spent, "budget": {...}}``."""
        budget = {k: v for k, v in (self.budget or {}).items() if k != CONTROLLER_MODE_KEY}
        return {"cost": round(self.cost, 12), "tokens": self.tokens, "budget": dict(budget)}
