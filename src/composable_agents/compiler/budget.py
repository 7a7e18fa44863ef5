"""The static budget estimate (SPEC §7 step 6) and ``maxCalls`` foresight.

The estimate is a worst case over the frozen tree:

* a leaf costs its ``Ann(cost_usd=...)``, else the tool's default annotation,
  else :data:`DEFAULT_LEAF_COST_USD` for its kind;
* ``seq`` and ``par`` (every merge: losers may have spent before they are
  cancelled) add up; ``alt`` takes its most expensive branch;
* ``iter_up_to`` multiplies its body by ``max``; ``each`` counts its body once
  (per item: the item count is unknown before the run, and the run-time guard
  checks before every spend);
* a ``sub`` costs its frozen child; an ``app`` costs its own ``budget.cost``
  when set, else ``maxRounds`` (default :data:`DEFAULT_APP_ROUNDS`) rounds of
  one controller call plus its most expensive tool or sub-flow;
* a composite with its own ``costUsd`` annotation costs exactly that.

An estimate above the manifest's ``budget.cost`` is ``BUDGET_EXCEEDED``; so
is a token estimate (reasoners' ``max_tokens``, when every reasoner on the
worst path declares one) above ``budget.tokens``. A tool the flow may call
more often than its grant's ``maxCalls`` is the warning ``CAP_MAX_CALLS``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Final

from composable_agents.compiler.diagnostics import Diagnostic, diag
from composable_agents.core.ir import (
    RESERVED_TOOLS,
    Alt,
    App,
    CallStep,
    Each,
    EvalPlan,
    IterUpTo,
    Loop,
    Node,
    Prim,
    SubStep,
    ThinkStep,
)

if TYPE_CHECKING:
    from composable_agents.compiler.capabilities import CapabilityManifest
    from composable_agents.compiler.freeze import Frozen

__all__ = ["DEFAULT_APP_ROUNDS", "DEFAULT_LEAF_COST_USD", "Estimate", "check_budget", "estimate"]

DEFAULT_LEAF_COST_USD: Final = {"call": 0.0, "think": 0.001, "arr": 0.0, "ident": 0.0}
"""Estimated USD cost of a leaf without a ``cost_usd`` annotation, by kind."""

DEFAULT_APP_ROUNDS: Final = 10
"""Rounds assumed for an agent loop without ``max_rounds`` when estimating its cost."""


class Estimate:
    """A worst-case cost (USD), token count (``None`` when unknown) and tool call counts."""

    __slots__ = ("calls", "cost", "tokens")

    def __init__(self, cost: float = 0.0, tokens: float | None = 0, calls: dict[str, float] | None = None) -> None:
        self.cost = cost
        self.tokens = tokens
        self.calls: dict[str, float] = calls if calls is not None else {}

    def add(self, other: Estimate) -> None:
        self.cost += other.cost
        self.tokens = None if self.tokens is None or other.tokens is None else self.tokens + other.tokens
        for key, n in other.calls.items():
            self.calls[key] = self.calls.get(key, 0) + n

    def scaled(self, factor: float) -> Estimate:
        tokens = None if self.tokens is None else self.tokens * factor
        cost = self.cost * factor if self.cost else 0.0
        return Estimate(cost, tokens, {k: (v * factor if v else 0) for k, v in self.calls.items()})

    def maxed(self, other: Estimate) -> Estimate:
        tokens = None if self.tokens is None or other.tokens is None else max(self.tokens, other.tokens)
        calls = dict(self.calls)
        for key, n in other.calls.items():
            calls[key] = max(calls.get(key, 0), n)
        return Estimate(max(self.cost, other.cost), tokens, calls)


def estimate(frozen: Frozen) -> Estimate:
    """The worst-case :class:`Estimate` of ``frozen`` (sub-flows included)."""
    memo: dict[str, Estimate] = {}

    def tool_cost(key: str) -> float:
        tool = frozen.tools.get(key)
        if tool is not None and tool.default_ann is not None and tool.default_ann.cost_usd is not None:
            return tool.default_ann.cost_usd
        return DEFAULT_LEAF_COST_USD["call"]

    def think_tokens(name: str) -> float | None:
        r = frozen.reasoners.get(name)
        return None if r is None or r.max_tokens is None else float(r.max_tokens)

    def child(ref: str) -> Estimate:
        if ref not in memo:
            node = frozen.subflows.get(ref)
            memo[ref] = Estimate()  # guard against re-entry
            memo[ref] = visit(node) if node is not None else Estimate()
        found = memo[ref]
        return Estimate(found.cost, found.tokens, dict(found.calls))

    def visit(node: Node) -> Estimate:
        own = node.ann.cost_usd if node.ann is not None else None
        if isinstance(node, Prim):
            step = node.step
            if isinstance(step, CallStep):
                if step.tool in RESERVED_TOOLS:
                    return Estimate(own or 0.0)
                return Estimate(own if own is not None else tool_cost(step.tool), 0, {step.tool: 1})
            if isinstance(step, ThinkStep):
                cost = own if own is not None else DEFAULT_LEAF_COST_USD["think"]
                return Estimate(cost, think_tokens(step.reasoner))
            if isinstance(step, SubStep):
                est = child(step.ref)
                if own is not None:
                    est.cost = own
                return est
        if isinstance(node, App):
            rounds = node.max_rounds or DEFAULT_APP_ROUNDS
            per = Estimate(DEFAULT_LEAF_COST_USD["think"], think_tokens(node.controller))
            worst = Estimate()
            for key in node.tools:
                worst = worst.maxed(Estimate(tool_cost(key), 0, {key: 1}))
            for ref in node.subflows:
                worst = worst.maxed(child(ref))
            per.add(worst)
            total = per.scaled(rounds)
            if node.max_rounds is None:
                total.calls = {k: math.inf for k in total.calls}
            budget = node.budget or {}
            cap = budget.get("cost")
            if isinstance(cap, int | float) and not isinstance(cap, bool):
                total.cost = min(total.cost, float(cap))
            if own is not None:
                total.cost = own
            return total
        if isinstance(node, EvalPlan):
            return Estimate(own if own is not None else DEFAULT_LEAF_COST_USD["think"], think_tokens(node.planner))
        kids = node.children()
        if isinstance(node, Alt):
            est = Estimate()
            for k in kids:
                est = est.maxed(visit(k))
        elif isinstance(node, IterUpTo):
            est = visit(node.body).scaled(node.max_rounds)
        elif isinstance(node, Each | Loop):
            est = visit(node.body)
            est.calls = {k: math.inf for k in est.calls}
        else:
            est = Estimate()
            for k in kids:
                est.add(visit(k))
        if own is not None:
            est.cost = own
        elif not kids:
            est.cost = DEFAULT_LEAF_COST_USD.get(str(node.OP), 0.0)
        return est

    return visit(frozen.node)


def check_budget(frozen: Frozen, manifest: CapabilityManifest | None) -> list[Diagnostic]:
    """``BUDGET_EXCEEDED`` (blocking) and ``CAP_MAX_CALLS`` (warning) diagnostics."""
    if manifest is None:
        return []
    wants_calls = manifest.tools is not None and any(g.max_calls is not None for g in manifest.tools)
    budget = manifest.budget
    if not wants_calls and (budget is None or (budget.cost is None and budget.tokens is None)):
        return []
    est = estimate(frozen)
    out: list[Diagnostic] = []
    src = frozen.node.src
    if budget is not None and budget.cost is not None and est.cost > budget.cost + 1e-12:
        out.append(
            diag(
                "BUDGET_EXCEEDED",
                "$",
                f"estimated cost ${est.cost:.4f} exceeds budget.cost ${budget.cost:.4f}",
                source=src,
            )
        )
    if budget is not None and budget.tokens is not None and est.tokens is not None and est.tokens > budget.tokens:
        out.append(
            diag(
                "BUDGET_EXCEEDED",
                "$",
                f"estimated tokens {int(est.tokens)} exceed budget.tokens {budget.tokens}",
                source=src,
            )
        )
    if wants_calls:
        for key in sorted(est.calls):
            grant = manifest.grant(key)
            if grant is None or grant.max_calls is None:
                continue
            n = est.calls[key]
            if n > grant.max_calls:
                many = "an unbounded number of" if math.isinf(n) else f"up to {int(n)}"
                out.append(
                    diag(
                        "CAP_MAX_CALLS",
                        "$",
                        f"the flow may make {many} calls to {key!r}; its grant allows maxCalls={grant.max_calls}",
                        source=src,
                    )
                )
    return out
