"""Reserved runtime tools of the interpreter: ``__human_gate__`` and ``__sleep__``.

A human gate asks ``Env.gate`` for a decision. Approval passes the gate's
input through and marks the current path approved (an approval-required tool
later on the path may then run). A rejection or timeout ends the run with
status ``rejected``/``timeout`` (:class:`~composable_agents.errors.RunStopped`
carrying the decision record with the input), unless the gate was built with
``onReject: "value"``: then the decision record *is* the output and the flow
branches on it.

``__sleep__`` waits ``args.seconds`` on the Env clock (a durable timer on
Temporal) and passes its input through.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from composable_agents.core.canonical import Json, JsonObject
from composable_agents.core.ir import CallStep, Prim
from composable_agents.errors import CompositionError, RunStopped
from composable_agents.execution.env import GateRequest
from composable_agents.execution.projection import activation_id

if TYPE_CHECKING:
    from composable_agents.execution.interpreter import Compiled, Program, RunState
    from composable_agents.execution.projection import NodeMeta

__all__ = ["compile_gate", "compile_sleep"]


def compile_gate(
    prog: Program,
    node: Prim,
    step: CallStep,
    nid: str,
    parent: NodeMeta | None,
    prev: NodeMeta | None,
) -> Compiled:
    """A human gate: decision from ``Env.gate``; approval passes the input through."""
    meta = prog._meta(node, nid, parent, prev, "human_gate")
    args = step.args or {}
    prompt = str(args.get("prompt", ""))
    on_reject = str(args.get("onReject", args.get("on_reject", "end")))
    if on_reject not in ("end", "value"):
        msg = f"human gate at {nid}: onReject must be 'end' or 'value', got {on_reject!r}"
        raise CompositionError(msg)
    timeout = node.ann.timeout_s if node.ann is not None else None

    async def arun(v: Json, acts: tuple[int, ...], st: RunState) -> Json:
        act = activation_id(nid, acts)
        request = GateRequest(
            node_id=nid,
            activation=act,
            prompt=prompt,
            value=v,
            timeout_s=timeout,
            on_reject=on_reject,
            principal=st.principal,
        )
        rec = st.rec
        t0 = None
        if rec is not None:
            t0 = st.env.now()
            rec.open_gate(act, request.view())
        try:
            decision = await st.env.gate(request)
        finally:
            if rec is not None:
                rec.close_gate(act)
        record: JsonObject = {**decision, "input": v}
        if decision.get("approved") is True:
            st.approved = True
            if rec is not None:
                rec.add(meta, acts, v, v, {"gate": _public(decision)}, t0)
            return v
        if rec is not None:
            rec.add(meta, acts, v, record, {"gate": _public(decision)}, t0)
        if on_reject == "value":
            return record
        status = "timeout" if decision.get("reason") == "timeout" else "rejected"
        detail = dict(record)
        detail["gate"] = act
        raise RunStopped(status, detail, f"human gate {prompt!r} at {act}: {status}")

    return False, arun


def _public(decision: JsonObject) -> JsonObject:
    return {
        "approved": decision.get("approved"),
        "reason": decision.get("reason"),
        "by": decision.get("by"),
    }


def compile_sleep(
    prog: Program,
    node: Prim,
    step: CallStep,
    nid: str,
    parent: NodeMeta | None,
    prev: NodeMeta | None,
) -> Compiled:
    """A timer on the Env clock; the input passes through."""
    meta = prog._meta(node, nid, parent, prev, "sleep")
    raw = (step.args or {}).get("seconds", 0)
    if isinstance(raw, bool) or not isinstance(raw, int | float) or raw < 0:
        msg = f"__sleep__ at {nid}: `seconds` must be a non-negative number, got {raw!r}"
        raise CompositionError(msg)
    seconds = float(raw)

    async def arun(v: Json, acts: tuple[int, ...], st: RunState) -> Json:
        t0 = st.env.now() if st.rec is not None else None
        await st.env.sleep(seconds)
        if st.rec is not None:
            st.rec.add(meta, acts, v, v, {"sleep": seconds}, t0)
        return v

    return False, arun
