"""Scheduling ops of the interpreter: the race family, branch states and static estimates.

``race``/``hedge``/``quorum`` compile here (``Par`` with ``merge`` other than
``all``); so do the helpers every concurrent construct shares: forking a
:class:`~composable_agents.execution.interpreter.RunState` per branch (its own
approvals on the path and its own quota, reserved in branch order) and
joining the branches back (usage folded in branch order, approvals of the
branches that completed).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from composable_agents.core.canonical import Json
from composable_agents.core.ir import CallStep, Each, IterUpTo, Node, Par, Prim, SubStep, ThinkStep
from composable_agents.core.kinds import ContextScope, Merge, Op
from composable_agents.errors import (
    AllBranchesFailed,
    CapabilityDenied,
    CompositionError,
    RunStopped,
)
from composable_agents.execution.limits import (
    DEFAULT_THINK_COST,
    DEFAULT_THINK_TOKENS,
    INF,
    Estimate,
    call_charge,
)

if TYPE_CHECKING:
    from composable_agents.execution.interpreter import Compiled, Program, RunState
    from composable_agents.execution.projection import NodeMeta

__all__ = ["BranchAbort", "compile_race", "estimate", "fork_states", "join_states", "whole_session"]

_UNBOUNDED = Estimate({"*": INF}, INF, INF)


class BranchAbort(Exception):
    """Carries a run-ending error (gate rejection, budget, capability) out of a race branch."""

    ends_run = True

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


def whole_session(node: Node) -> bool:
    """True when any node under ``node`` reads ``WHOLE_SESSION`` context."""
    stack = [node]
    while stack:
        current = stack.pop()
        if current.ctx is not None and current.ctx.scope == ContextScope.WHOLE_SESSION:
            return True
        stack.extend(current.children())
    return False


def estimate(prog: Program, node: Node, _seen: frozenset[str] = frozenset()) -> Estimate:
    """An upper bound of what ``node`` may spend (memoized per node object)."""
    memo = prog._estimates
    found = memo.get(id(node))
    if found is not None:
        cached: Estimate = found[1]
        return cached
    result = _estimate(prog, node, _seen)
    memo[id(node)] = (node, result)
    return result


def _estimate(prog: Program, node: Node, seen: frozenset[str]) -> Estimate:
    op = node.OP
    if op in (Op.ARR, Op.IDENT):
        return Estimate()
    if isinstance(node, Prim):
        step = node.step
        ann_cost = node.ann.cost_usd if node.ann is not None else None
        if isinstance(step, CallStep):
            if step.tool.startswith("__"):
                return Estimate()
            # The same charge the call makes, so a branch's reservation covers what it will spend.
            return Estimate({step.tool: 1}, call_charge(ann_cost, prog.catalog.tool(step.tool)), 0)
        if isinstance(step, ThinkStep):
            definition = prog.catalog.reasoner(step.reasoner)
            tokens = (
                definition.max_tokens
                if definition is not None and definition.max_tokens
                else DEFAULT_THINK_TOKENS
            )
            return Estimate({}, ann_cost if ann_cost is not None else DEFAULT_THINK_COST, tokens)
        assert isinstance(step, SubStep)
        if step.ref in seen:
            return _UNBOUNDED
        child = prog.catalog.subflows.get(step.ref)
        if child is None:
            flow = prog.catalog.registry.flows.get(step.ref)
            child = flow.to_ir() if flow is not None else None
        if child is None:
            return _UNBOUNDED
        return estimate(prog, child, seen | {step.ref})
    kids = node.children()
    if op is Op.SEQ or (op is Op.PAR and isinstance(node, Par) and node.merge is Merge.ALL):
        total = Estimate()
        for kid in kids:
            total = total.plus(estimate(prog, kid, seen))
        return total
    if op is Op.PAR:  # race family: every branch may start
        total = Estimate()
        for kid in kids:
            total = total.plus(estimate(prog, kid, seen))
        return total
    if op is Op.ALT:
        best = Estimate()
        for kid in kids:
            best = best.either(estimate(prog, kid, seen))
        return best
    if isinstance(node, IterUpTo):
        return estimate(prog, node.body, seen).times(node.max_rounds)
    if isinstance(node, Each):
        body = estimate(prog, node.body, seen)
        return body.times(INF) if body != Estimate() else Estimate()
    return _UNBOUNDED  # stage, app, loop: decided at run time


def fork_states(st: RunState, ests: Sequence[Estimate]) -> list[RunState]:
    """One state per concurrent branch, quotas reserved in branch index order."""
    if st.ledger is None:
        return [st.fork(None) for _ in ests]
    return [st.fork(child) for child in st.ledger.reserve(list(ests))]


def join_states(
    st: RunState, sts: Sequence[RunState], approvals: Sequence[int] | None = None
) -> None:
    """Fold branch usage into ``st`` in branch order; keep approvals of ``approvals`` (all if ``None``)."""
    ledger = st.ledger
    if ledger is not None:
        for child in sts:
            if child.ledger is not None:
                ledger.absorb(child.ledger)
    picked = range(len(sts)) if approvals is None else approvals
    if not st.approved and any(sts[i].approved for i in picked):
        st.approved = True


def compile_race(
    prog: Program, node: Par, nid: str, parent: NodeMeta | None, prev: NodeMeta | None
) -> Compiled:
    """``race``/``hedge``/``quorum``: settle on success through ``Env.race``."""
    from composable_agents.execution.interpreter import _as_async

    merge = node.merge
    meta = prog._meta(node, nid, parent, prev, str(merge))
    parts = prog._children(node, nid, meta, chain=False)
    n = len(parts)
    k = node.k if merge is Merge.QUORUM and node.k is not None else 1
    if not 1 <= k <= n:
        msg = f"quorum at {nid} needs 1 <= k <= {n}, got k={k}"
        raise CompositionError(msg)
    hedge_s = (node.hedge_ms or 0) / 1000.0 if merge is Merge.HEDGE else None
    reducer = prog._helper(node.reducer) if node.reducer is not None else None
    afns = tuple(fn if not is_sync else _as_async(fn) for is_sync, fn in parts)
    ests = [estimate(prog, kid) for kid in node.branches]
    sequential = any(whole_session(kid) for kid in node.branches)
    label = str(merge)

    def settle(values: list[Json]) -> Json:
        if reducer is not None:
            return reducer(values)
        return values[0] if merge is not Merge.QUORUM else values

    async def arun(v: Json, acts: tuple[int, ...], st: RunState) -> Json:
        sts = fork_states(st, ests)
        status = [0] * n  # 0 not started, 1 running, 2 succeeded, 3 failed, 4 cancelled

        def thunk(i: int) -> Any:
            async def branch() -> Json:
                status[i] = 1
                try:
                    out = await afns[i](v, acts, sts[i])
                except asyncio.CancelledError:
                    status[i] = 4
                    raise
                except (RunStopped, CapabilityDenied) as exc:
                    status[i] = 3
                    raise BranchAbort(exc) from exc
                except BaseException:
                    status[i] = 3
                    raise
                status[i] = 2
                return out

            return branch

        winners: list[int] = []
        try:
            if sequential:
                wins: list[tuple[int, Json]] = []
                errors: list[BaseException] = []
                for i in range(n):
                    try:
                        wins.append((i, await thunk(i)()))
                    except BranchAbort:
                        raise
                    except Exception as exc:  # noqa: BLE001 - a failed branch, as in Env.race
                        errors.append(exc)
                    if len(wins) == k:
                        break
                if len(wins) < k:
                    msg = f"{label} at {nid}: only {len(wins)} of {k} successes; " + "; ".join(
                        f"{type(e).__name__}: {e}" for e in errors
                    )
                    raise AllBranchesFailed(msg, errors)
            else:
                wins = await st.env.race([thunk(i) for i in range(n)], k=k, hedge_s=hedge_s)
            winners = [i for i, _ in wins]
        except BranchAbort as abort:
            raise abort.error from None
        finally:  # usage of every branch (winners, losers, cancelled) folds in branch order
            join_states(st, sts, winners)
        out = settle([value for _, value in wins])
        if st.rec is not None:
            attrs: dict[str, Json] = {
                "merge": label,
                "winner": winners[0] if k == 1 else winners,
                "cancelled": [i for i in range(n) if status[i] == 4],
                "launched": sum(1 for s in status if s),
            }
            if sequential:
                attrs["degraded"] = True
            st.rec.add(meta, acts, v, out, attrs)
        return out

    return False, arun
