"""Run-time limits: per-tool ``maxCalls`` counters and the budget (cost, tokens, wall time).

A :class:`Ledger` holds the limits a run (or one branch of it) may spend
under and what it has spent. Every spend is checked **before** it happens:
a tool call asks :meth:`Ledger.spend_call` first, a reasoner call
:meth:`Ledger.spend_think`; a refusal raises
:class:`~composable_agents.errors.BudgetExceeded` (the run ends with status
``"over_budget"``).

Determinism under concurrency: when a ``par``/race/``each`` wave schedules
its branches, the interpreter calls :meth:`Ledger.reserve` with each
branch's static :class:`Estimate`, **in branch index order**. Each branch
gets a child ledger whose quota is ``min(estimate, what is left)``; bounded
branches reserve first, then branches with an unbounded estimate (a loop
over a list) split what is left evenly, the remainder going to lower
indices. A branch can never spend beyond its quota, so which spend is refused
depends only on the flow, the input and the effect results — never on which
branch finished first. When a branch ends (success, failure or
cancellation) its actual usage is folded into the parent with
:meth:`Ledger.absorb` and its unused quota returns. A ``sub`` runs under a
child ledger holding the whole remaining quota and returns its usage the
same way; continuation segments carry the root ledger unchanged.

Wall time is a deadline on the Env clock shared by every child; it is not
reserved.

Default leaf estimates: a tool call costs its ``Ann.cost_usd`` (else
:data:`DEFAULT_CALL_COST`); a reasoner call costs its ``Ann.cost_usd``
(else :data:`DEFAULT_THINK_COST`) and is expected to use its
``Reasoner.max_tokens`` (else :data:`DEFAULT_THINK_TOKENS`) tokens. Real usage
reported by a reasoner (the ``__usage__`` convention, see the interpreter)
replaces the estimate once known.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from composable_agents.core.canonical import Json, JsonObject
from composable_agents.errors import BudgetExceeded, InvalidUsage

if TYPE_CHECKING:
    from composable_agents.authoring.leaves import ToolDef

__all__ = [
    "DEFAULT_CALL_COST",
    "DEFAULT_THINK_COST",
    "DEFAULT_THINK_TOKENS",
    "INF",
    "Estimate",
    "Ledger",
    "call_charge",
    "checked_cost",
    "checked_count",
    "cost_or_zero",
    "ledger_from_capabilities",
]

INF: Final = math.inf
DEFAULT_CALL_COST: Final = 0.0
"""Estimated USD of a tool call without ``Ann.cost_usd``."""
DEFAULT_THINK_COST: Final = 0.0
"""Estimated USD of a reasoner call without ``Ann.cost_usd``."""
DEFAULT_THINK_TOKENS: Final = 1000
"""Estimated tokens of a reasoner call whose ``Reasoner.max_tokens`` is unset."""


@dataclass(frozen=True, slots=True)
class Estimate:
    """An upper bound of what a subtree may spend: calls per tool, cost, tokens (``inf``: unbounded)."""

    calls: Mapping[str, float] = field(default_factory=dict)
    cost: float = 0.0
    tokens: float = 0.0

    @property
    def bounded(self) -> bool:
        """True when every component is finite."""
        return (
            self.cost != INF and self.tokens != INF and all(v != INF for v in self.calls.values())
        )

    def plus(self, other: Estimate) -> Estimate:
        """Both, one after the other (``seq``, ``par``)."""
        calls = dict(self.calls)
        for key, n in other.calls.items():
            calls[key] = calls.get(key, 0) + n
        return Estimate(calls, self.cost + other.cost, self.tokens + other.tokens)

    def either(self, other: Estimate) -> Estimate:
        """One of the two (``alt``): the component-wise maximum."""
        calls = dict(self.calls)
        for key, n in other.calls.items():
            calls[key] = max(calls.get(key, 0), n)
        return Estimate(calls, max(self.cost, other.cost), max(self.tokens, other.tokens))

    def times(self, n: float) -> Estimate:
        """``n`` repetitions (``iter_up_to``; ``inf`` for a list of unknown length)."""
        if n == 0:
            return Estimate()
        return Estimate(
            {key: c * n for key, c in self.calls.items()},
            self.cost * n if self.cost else 0.0,
            self.tokens * n if self.tokens else 0.0,
        )


def checked_count(value: object, what: str) -> int:
    """``value`` as a reported count (tokens, calls): a non-negative ``int``, else :class:`InvalidUsage`.

    Reported usage comes from outside (a reasoner, a controller, a child
    run), so a bool, a string, a float or a negative number is refused
    rather than coerced: coercing would let a reply disable the budget.
    """
    if type(value) is int and value >= 0:
        return value
    msg = f"reported usage `{what}` must be a non-negative integer, got {value!r:.60}"
    raise InvalidUsage(msg)


def checked_cost(value: object, what: str) -> float:
    """``value`` as a reported cost: a finite, non-negative number (not a bool), else :class:`InvalidUsage`."""
    if (type(value) is int or type(value) is float) and math.isfinite(value) and value >= 0:
        return float(value)
    msg = f"reported usage `{what}` must be a finite, non-negative number, got {value!r:.60}"
    raise InvalidUsage(msg)


def cost_or_zero(value: float | None) -> float:
    """A cost annotation as a charge: a finite, non-negative number, else nothing."""
    if value is None or not math.isfinite(value) or value < 0:
        return 0.0
    return float(value)


def call_charge(own: float | None, definition: ToolDef | None) -> float:
    """What one call of a tool is charged, and what a branch reserves for it (SPEC §22.2).

    The frozen contract's declared cost is the floor: the node's annotation
    ``own`` (a plan's included) may raise a call's charge, never lower it; a
    non-finite or negative figure counts as nothing.
    """
    ann = definition.default_ann if definition is not None else None
    declared = ann.cost_usd if ann is not None else None
    return max(cost_or_zero(own), cost_or_zero(declared), DEFAULT_CALL_COST)


class Ledger:
    """Limits and usage of one run or one branch (a child ledger)."""

    __slots__ = (
        "calls",
        "clock",
        "cost",
        "cost_limit",
        "deadline",
        "max_calls",
        "token_limit",
        "tokens",
    )

    def __init__(
        self,
        *,
        max_calls: Mapping[str, float] | None = None,
        cost: float | None = None,
        tokens: float | None = None,
        deadline: float | None = None,
        clock: Any = None,
    ) -> None:
        self.max_calls: dict[str, float] = dict(max_calls or {})
        self.cost_limit = cost
        self.token_limit = tokens
        self.deadline = deadline
        self.clock = clock
        self.calls: dict[str, int] = {}
        self.cost = 0.0
        self.tokens = 0

    # -- checks before each spend --------------------------------------------------

    def _check_wall(self, what: str) -> None:
        if self.deadline is not None and self.clock is not None and self.clock() > self.deadline:
            self._refuse("wallSeconds", what, self.clock(), self.deadline)

    def _refuse(
        self, limit: str, what: str, used: Json, allowed: Json, tool: str | None = None
    ) -> None:
        msg = f"{what} refused: {limit} would be exceeded ({used} > {allowed})"
        err = BudgetExceeded(msg)
        detail: JsonObject = {"limit": limit, "used": used, "allowed": allowed, "step": what}
        if tool is not None:
            detail["tool"] = tool
        err.detail = detail  # type: ignore[attr-defined]
        raise err

    def spend_call(self, key: str, cost: float, what: str) -> None:
        """Count one call of tool ``key`` and its estimated ``cost``, or refuse it."""
        limit = self.max_calls.get(key)
        if limit is None and "/" in key:
            # A ``server/*`` grant limits each of the server's tools separately.
            limit = self.max_calls.get(key.split("/", 1)[0] + "/*")
        used = self.calls.get(key, 0) + 1
        if limit is not None and used > limit:
            self._refuse("maxCalls", what, used, _num(limit), key)
        if self.cost_limit is not None and self.cost + cost > self.cost_limit + 1e-12:
            self._refuse("cost", what, round(self.cost + cost, 12), _num(self.cost_limit))
        self._check_wall(what)
        self.calls[key] = used
        self.cost += cost

    def spend_think(self, tokens: float, cost: float, what: str) -> None:
        """Check a reasoner call's estimated ``tokens``/``cost`` fit, then charge the cost."""
        if self.token_limit is not None and self.tokens + tokens > self.token_limit:
            self._refuse("tokens", what, _num(self.tokens + tokens), _num(self.token_limit))
        if self.cost_limit is not None and self.cost + cost > self.cost_limit + 1e-12:
            self._refuse("cost", what, round(self.cost + cost, 12), _num(self.cost_limit))
        self._check_wall(what)
        self.cost += cost

    def record_usage(self, tokens: int, extra_cost: float) -> None:
        """Charge real usage reported after a call (tokens and any cost beyond the estimate)."""
        self.tokens += tokens
        self.cost += extra_cost

    # -- reservations for concurrent branches --------------------------------------

    def child(self, calls: Mapping[str, float], cost: float | None, tokens: float | None) -> Ledger:
        """A ledger limited to the given quota, sharing this ledger's deadline."""
        return Ledger(
            max_calls=calls, cost=cost, tokens=tokens, deadline=self.deadline, clock=self.clock
        )

    def whole(self) -> Ledger:
        """A child holding everything this ledger has left (a ``sub``)."""
        return self.child(
            {key: lim - self.calls.get(key, 0) for key, lim in self.max_calls.items()},
            None if self.cost_limit is None else self.cost_limit - self.cost,
            None if self.token_limit is None else self.token_limit - self.tokens,
        )

    def reserve(self, estimates: list[Estimate]) -> list[Ledger]:
        """One child per branch, quotas granted in branch index order (see the module doc).

        A ``server/*`` limit applies to each of the server's tools separately,
        so each concrete ``server/tool`` a branch may call (or this ledger has
        called) is reserved from its own pool, and the wildcard itself from
        what its least-used tool has left (for tools only known at run time).
        An unknown estimate (``"*"``: an agent, a stage, a loop) wants every
        limited key without bound and shares what is left evenly.
        """
        n = len(estimates)
        left_calls = {key: lim - self.calls.get(key, 0) for key, lim in self.max_calls.items()}
        for wild, lim in self.max_calls.items():
            if not wild.endswith("/*"):
                continue
            prefix = wild[:-1]
            known = {k for e in estimates for k in e.calls if k.startswith(prefix)} | {
                k for k in self.calls if k.startswith(prefix)
            }
            known -= set(self.max_calls)
            for key in known:
                left_calls[key] = lim - self.calls.get(key, 0)
            left_calls[wild] = lim - max((self.calls.get(k, 0) for k in known), default=0)
        left_cost = None if self.cost_limit is None else self.cost_limit - self.cost
        left_tokens = None if self.token_limit is None else self.token_limit - self.tokens
        quota_calls: list[dict[str, float]] = [{} for _ in range(n)]
        quota_cost: list[float | None] = [None] * n
        quota_tokens: list[float | None] = [None] * n

        def grant(want: list[float], left: float, integral: bool) -> list[float]:
            out = [0.0] * n
            unbounded = [i for i in range(n) if want[i] == INF]
            for i in range(n):
                if want[i] != INF:
                    out[i] = min(want[i], max(left, 0))
                    left -= out[i]
            if unbounded:
                left = max(left, 0)
                if integral:
                    q, r = divmod(int(left), len(unbounded))
                    for j, i in enumerate(unbounded):
                        out[i] = q + (1 if j < r else 0)
                else:
                    for i in unbounded:
                        out[i] = left / len(unbounded)
            return out

        for key, left in left_calls.items():
            wants = [e.calls.get(key, e.calls.get("*", 0)) for e in estimates]
            for i, g in enumerate(grant(wants, left, True)):
                quota_calls[i][key] = g
        if left_cost is not None:
            quota_cost = list(grant([e.cost for e in estimates], left_cost, False))
        if left_tokens is not None:
            quota_tokens = list(grant([e.tokens for e in estimates], left_tokens, True))
        return [self.child(quota_calls[i], quota_cost[i], quota_tokens[i]) for i in range(n)]

    def absorb(self, child: Ledger) -> None:
        """Fold a finished child's actual usage into this ledger."""
        for key, n in child.calls.items():
            self.calls[key] = self.calls.get(key, 0) + n
        self.cost += child.cost
        self.tokens += child.tokens

    def limits_json(self) -> JsonObject:
        """This ledger's limits in manifest form (``tools``/``budget``): the quota a child flow receives."""
        out: JsonObject = {
            "tools": [{"name": k, "maxCalls": _num(v)} for k, v in sorted(self.max_calls.items())]
        }
        budget: JsonObject = {}
        if self.cost_limit is not None:
            budget["cost"] = self.cost_limit
        if self.token_limit is not None:
            budget["tokens"] = _num(self.token_limit)
        if budget:
            out["budget"] = budget
        return out

    def charge(self, usage: Mapping[str, Any]) -> None:
        """Fold a child's reported ``usage()`` record into this ledger (a remote ``sub``).

        Every number is checked first (:func:`checked_count`/:func:`checked_cost`);
        a bad record raises :class:`InvalidUsage` and credits nothing.
        """
        calls = usage.get("calls") or {}
        if not isinstance(calls, Mapping):
            msg = f"reported usage `calls` must be a record of counts, got {calls!r:.60}"
            raise InvalidUsage(msg)
        counted = {str(key): checked_count(n, f"calls.{key}") for key, n in calls.items()}
        cost = usage.get("cost")
        tokens = usage.get("tokens")
        add_cost = 0.0 if cost is None else checked_cost(cost, "cost")
        add_tokens = 0 if tokens is None else checked_count(tokens, "tokens")
        for key, n in counted.items():
            self.calls[key] = self.calls.get(key, 0) + n
        self.cost += add_cost
        self.tokens += add_tokens

    def usage(self) -> JsonObject:
        """``{"calls": {tool: n}, "cost": usd, "tokens": n}``."""
        return {
            "calls": dict(sorted(self.calls.items())),
            "cost": round(self.cost, 12),
            "tokens": self.tokens,
        }


def _num(value: float) -> Json:
    return int(value) if float(value).is_integer() else value


def ledger_from_capabilities(
    capabilities: Mapping[str, Any] | None, *, start: float = 0.0, clock: Any = None
) -> Ledger | None:
    """The root ledger of a run under ``capabilities`` (``None`` when it sets no limits).

    Reads ``tools: [{name, maxCalls}]`` and ``budget: {cost, tokens, wallSeconds}``
    (SPEC §14); ``tools`` may also be a mapping from tool key to its entry.
    """
    if not capabilities:
        return None
    max_calls: dict[str, float] = {}
    tools = capabilities.get("tools") or []
    entries = (
        [{"name": k, **(v if isinstance(v, Mapping) else {})} for k, v in tools.items()]
        if isinstance(tools, Mapping)
        else [t for t in tools if isinstance(t, Mapping)]
    )
    for entry in entries:
        limit = entry.get("maxCalls", entry.get("max_calls"))
        if limit is not None and entry.get("name"):
            max_calls[str(entry["name"])] = float(limit)
    budget = capabilities.get("budget") or {}
    cost = budget.get("cost")
    tokens = budget.get("tokens")
    wall = budget.get("wallSeconds", budget.get("wall_seconds"))
    if not max_calls and cost is None and tokens is None and wall is None:
        return None
    return Ledger(
        max_calls=max_calls,
        cost=None if cost is None else float(cost),
        tokens=None if tokens is None else float(tokens),
        deadline=None if wall is None else start + float(wall),
        clock=clock,
    )
