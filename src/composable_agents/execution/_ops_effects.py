"""The effect leaves of the interpreter: tool calls, reasoner calls and sub-flows.

Each ``compile_*`` turns one ``prim`` node into a coroutine that checks the
contract (input/output validators, approval, budget reservation), hands the
effect to the :class:`~composable_agents.execution.env.Env` and records the
activation. Pure structure (seq, par, each, alt, iter) stays in
:mod:`composable_agents.execution.interpreter`; keeping effects apart makes
the one place where a run touches the outside world readable in one sitting.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Final

from composable_agents.core.canonical import Json, JsonObject
from composable_agents.core.ir import (
    CallStep,
    Prim,
    SubStep,
    ThinkStep,
)
from composable_agents.core.jsontext import not_json
from composable_agents.errors import (
    CapabilityDenied,
    ComposableAgentsError,
    InvalidUsage,
    StepFailed,
    StepTypeError,
    UnsupportedOpError,
)
from composable_agents.execution import _ops_gates
from composable_agents.execution.env import ReasonerCall, ToolCall
from composable_agents.execution.limits import (
    DEFAULT_THINK_COST,
    DEFAULT_THINK_TOKENS,
    call_charge,
    checked_cost,
    checked_count,
    cost_or_zero,
)
from composable_agents.execution.projection import NodeMeta, activation_id

if TYPE_CHECKING:
    from composable_agents.authoring.leaves import ToolDef
    from composable_agents.execution.interpreter import Compiled, Program, RunState

__all__ = ["compile_call", "compile_sub", "compile_think", "split_usage"]


def split_usage(reply: Json) -> tuple[Json, JsonObject | None]:
    """Strip the ``__usage__`` convention from a reasoner reply.

    A reply record may carry ``"__usage__": {"tokens": n, "cost": usd}`` (or
    ``input_tokens``/``output_tokens``); it is removed from the value and
    charged as real usage. A reply ``{"__value__": x, "__usage__": u}`` stands
    for the non-record value ``x``. The token breakdown and the provider
    facts a real model reports (:data:`USAGE_FACTS`, e.g. from
    ``models.router()``) are kept for the projection event. The numbers come
    from outside: every count must be a non-negative ``int`` (never a bool or
    a string) and the cost finite and non-negative, else
    :class:`~composable_agents.errors.InvalidUsage` (nothing is credited);
    an absent or ``null`` field is not reported (SPEC §22.2).
    """
    if type(reply) is not dict or "__usage__" not in reply:
        return reply, None
    usage = reply["__usage__"]
    rest = {k: v for k, v in reply.items() if k != "__usage__"}
    if set(rest) == {"__value__"}:
        value: Json = rest["__value__"]
    else:
        value = rest
    if type(usage) is not dict:
        msg = f"`__usage__` must be a record of numbers, got {usage!r:.60}"
        raise InvalidUsage(msg)
    counts: dict[str, int] = {}
    for field in _COUNT_FIELDS:
        n = usage.get(field)
        if n is not None:
            counts[field] = checked_count(n, field)
    tokens = counts["tokens"] if "tokens" in counts else counts.get("input_tokens", 0) + counts.get("output_tokens", 0)
    out: JsonObject = {"tokens": tokens}
    if usage.get("cost") is not None:
        out["cost"] = checked_cost(usage["cost"], "cost")
    for key in USAGE_FACTS:
        if key in usage:
            out[key] = usage[key]
    return value, out


_COUNT_FIELDS = ("tokens", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")

USAGE_FACTS = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "calls",
    "provider",
    "model",
    "fallback",
    "costUnknown",
)
"""Keys of a reported ``__usage__`` record kept beyond ``tokens``/``cost``."""

EVENT_FACTS = ("provider", "model", "fallback", "costUnknown")
"""Usage facts also set on the projection event itself (who answered, at what known cost)."""


def _fail(meta: NodeMeta, acts: tuple[int, ...], exc: BaseException) -> BaseException:
    if isinstance(exc, ComposableAgentsError):
        return exc
    where = activation_id(meta.node_id, acts)
    msg = f"step {meta.label!r} at {where} failed: {type(exc).__name__}: {exc}"
    err = StepFailed(msg, node_id=meta.node_id, activation=where)
    err.__cause__ = exc
    return err


def _failed(st: RunState, meta: NodeMeta, acts: tuple[int, ...], v: Json, exc: BaseException, started: float | None = None) -> BaseException:
    """Record the failed activation (its event carries the error; SPEC §20); ``exc`` back, to raise."""
    rec = st.rec
    if rec is not None:
        rec.fail(meta, acts, v, exc, started)
    return exc


def _raised(st: RunState, meta: NodeMeta, acts: tuple[int, ...], v: Json, exc: BaseException, started: float | None = None) -> BaseException:
    """Record what a step's own code raised, and return it as the error to raise (:func:`_fail`)."""
    _failed(st, meta, acts, v, exc, started)
    return _fail(meta, acts, exc)


def _type_error(step: str, validator: Any, value: Json) -> StepTypeError:
    violation = validator.first_error(value)
    if violation is None:  # pragma: no cover - is_valid and first_error agree
        return StepTypeError(step, "$", "a valid value", repr(value)[:80])
    return StepTypeError(step, violation.path, violation.expected, violation.value_repr)



def compile_call(
    prog: Program, node: Prim, step: CallStep, nid: str, parent: NodeMeta | None, prev: NodeMeta | None
) -> Compiled:
    """A tool call (or a reserved tool: gate, sleep, session channel): validators, approval, the
    ledger's charge per attempt (at least the tool's declared cost), the Env call, the event."""
    from composable_agents.execution import agent_runtime  # it builds on this module's helpers

    if step.tool == "__human_gate__":
        return _ops_gates.compile_gate(prog, node, step, nid, parent, prev)
    if step.tool == "__sleep__":
        return _ops_gates.compile_sleep(prog, node, step, nid, parent, prev)
    if step.tool in agent_runtime.SESSION_TOOLS:
        return agent_runtime.compile_session_call(prog, node, nid, parent, prev)
    if step.tool.startswith("__"):
        msg = f"the reserved tool {step.tool!r} at {nid} is unknown to this interpreter"
        raise UnsupportedOpError(msg)
    meta = prog._meta(node, nid, parent, prev, step.tool)
    key = step.tool
    prog.tools.add(key)
    definition = prog.catalog.tool(key)
    ann = node.ann
    if definition is not None and definition.default_ann is not None:
        ann = definition.default_ann.merged(ann)
    # Retries only where the frozen contract allows: read-only or native/required idempotent.
    safe = definition is not None and definition.contract.retry_safe
    wanted = ann.max_attempts if ann is not None and ann.max_attempts is not None else None
    interval = ann.retry_interval_s if ann is not None else None
    backoff = ann.backoff_rate if ann is not None else None
    timeout = ann.timeout_s if ann is not None else None
    needs_approval = definition is not None and definition.contract.approval
    exec_hash = step.bind or prog.catalog.execution_hashes.get(key)
    vin, vout = _tool_validators(prog, key, definition)
    estimate = call_charge(meta.cost_usd, definition)
    cost_attrs = {"cost": estimate} if estimate else None

    async def arun(v: Json, acts: tuple[int, ...], st: RunState) -> Json:
        act = activation_id(nid, acts)
        t0 = st.env.now() if st.rec is not None else None
        if st.check and vin is not None and not vin.is_valid(v):
            raise _failed(st, meta, acts, v, _type_error(key, vin, v), t0)
        attrs = cost_attrs
        if needs_approval and not st.approved:
            if st.strict:
                msg = (
                    f"tool {key!r} at {act} requires approval: no approving human gate "
                    "precedes it on this path"
                )
                raise CapabilityDenied(msg)
            attrs = {**(attrs or {}), "approval_bypassed": True}
        ledger = st.ledger
        on_retry = None
        if ledger is not None:
            what = f"tool {key!r} at {act}"
            ledger.spend_call(key, estimate, what)
            if safe:

                def on_retry(attempt: int) -> None:
                    # Every attempt is a call: charged (or refused) before it starts.
                    ledger.spend_call(key, estimate, f"{what} (attempt {attempt})")

        call = ToolCall(
            key=key,
            node_id=nid,
            activation=act,
            value=v,
            idempotency_key=st.key_prefix + act,
            definition=definition,
            execution_hash=exec_hash,
            max_attempts=(wanted or st.attempts) if safe else 1,
            retry_interval_s=interval if interval is not None else st.interval,
            backoff_rate=backoff if backoff is not None else st.backoff,
            timeout_s=timeout,
            principal=st.principal,
            on_retry=on_retry,
        )
        try:
            out = await st.env.call_tool(call)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise _raised(st, meta, acts, v, exc, t0) from exc
        if type(out) not in _JSON_SCALARS:
            bad = not_json(key, out)  # SPEC §22.10: only JSON crosses a step, as on workers
            if bad is not None:
                raise _failed(st, meta, acts, v, bad, t0)
        if st.check and vout is not None and not vout.is_valid(out):
            raise _failed(st, meta, acts, v, _type_error(key, vout, out), t0)
        if st.rec is not None:
            st.rec.add(meta, acts, v, out, attrs, t0)
        return out

    return False, arun


_JSON_SCALARS: Final = (str, int, bool, type(None))



def _tool_validators(prog: Program, key: str, definition: ToolDef | None) -> tuple[Any, Any]:
    """Input/output validators of a tool, compiled once per program."""
    found = prog._validators.get(key)
    if found is None:
        vin = vout = None
        if definition is not None:
            from composable_agents.core.schema import compile_schema

            if definition.contract.input_schema:
                vin = compile_schema(definition.contract.input_schema)
            if definition.contract.output_schema:
                vout = compile_schema(definition.contract.output_schema)
        found = prog._validators[key] = (vin, vout)
    return found

def compile_think(
    prog: Program, node: Prim, step: ThinkStep, nid: str, parent: NodeMeta | None, prev: NodeMeta | None
) -> Compiled:
    """A reasoner call: the estimate checked first, then the reply's checked ``__usage__`` charged."""
    meta = prog._meta(node, nid, parent, prev, step.reasoner)
    name = step.reasoner
    prog.reasoners.add(name)
    definition = prog.catalog.reasoner(name)
    vreply = None
    if definition is not None and definition.reply is not None:
        from composable_agents.core.schema import validator_for

        vreply = validator_for(definition.reply)
    timeout = node.ann.timeout_s if node.ann is not None else None
    attempts = node.ann.max_attempts if node.ann is not None and node.ann.max_attempts else 1
    interval = node.ann.retry_interval_s if node.ann is not None and node.ann.retry_interval_s is not None else 1.0
    backoff = node.ann.backoff_rate if node.ann is not None and node.ann.backoff_rate is not None else 2.0
    cost = meta.cost_usd
    est_cost = cost_or_zero(cost) if cost is not None else DEFAULT_THINK_COST  # never a refund
    est_tokens = (
        definition.max_tokens
        if definition is not None and definition.max_tokens
        else DEFAULT_THINK_TOKENS
    )

    async def arun(v: Json, acts: tuple[int, ...], st: RunState) -> Json:
        act = activation_id(nid, acts)
        t0 = st.env.now() if st.rec is not None else None
        ledger = st.ledger
        on_retry = None
        if ledger is not None:
            what = f"reasoner {name!r} at {act}"
            ledger.spend_think(est_tokens, est_cost, what)
            if attempts > 1:

                def on_retry(attempt: int) -> None:
                    # A retried reasoner call is another call: checked and charged before it starts.
                    ledger.spend_think(est_tokens, est_cost, f"{what} (attempt {attempt})")

        call = ReasonerCall(
            name=name,
            node_id=nid,
            activation=act,
            value=v,
            definition=definition,
            timeout_s=timeout,
            max_attempts=attempts,
            principal=st.principal,
            retry_interval_s=interval,
            backoff_rate=backoff,
            on_retry=on_retry,
        )
        try:
            out = await st.env.invoke_reasoner(call)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise _raised(st, meta, acts, v, exc, t0) from exc
        out, usage = split_usage(out)
        if type(out) not in _JSON_SCALARS:
            bad = not_json(name, out)  # a fake (or an LLM caller) answering a set or an object fails here too
            if bad is not None:
                raise _failed(st, meta, acts, v, bad, t0)
        if ledger is not None:
            real_cost = usage.get("cost") if usage is not None else None
            ledger.record_usage(
                usage["tokens"] if usage is not None else est_tokens,
                (real_cost - est_cost) if real_cost is not None else 0.0,
            )
        if vreply is not None and not vreply.is_valid(out):
            raise _failed(st, meta, acts, v, _type_error(name, vreply, out), t0)
        if st.rec is not None:
            attrs: JsonObject | None = None
            if usage is not None:
                attrs = {"usage": usage}
                if "cost" in usage:
                    attrs["cost"] = usage["cost"]
                attrs.update({k: usage[k] for k in EVENT_FACTS if k in usage})
            elif cost:
                attrs = {"cost": cost}
            st.rec.add(meta, acts, v, out, attrs, t0)
        return out

    return False, arun

def compile_sub(
    prog: Program, node: Prim, step: SubStep, nid: str, parent: NodeMeta | None, prev: NodeMeta | None
) -> Compiled:
    """A sub-flow: run in process under a child ledger, or as a child workflow (``env.run_sub``)."""
    meta = prog._meta(node, nid, parent, prev, step.ref)
    ref = step.ref
    prog.subs.add(ref)
    child_node = prog.catalog.subflows.get(ref)
    if child_node is None:
        flow = prog.catalog.registry.flows.get(ref)
        child_node = flow.to_ir() if flow is not None else None
    if child_node is None:
        msg = f"sub-flow {ref!r} at {nid} is not registered (name it with .named({ref!r}))"
        raise UnsupportedOpError(msg)
    child = type(prog)(child_node, prog.catalog)
    prog.reasoners |= child.reasoners
    prog.tools |= child.tools
    sub_attrs = {"sub": ref}

    async def arun(v: Json, acts: tuple[int, ...], st: RunState) -> Json:
        act = activation_id(nid, acts)
        t0 = st.env.now() if st.rec is not None else None  # a child run's events are its own: time the call here
        quota = st.ledger.whole() if st.ledger is not None else None
        remote = getattr(st.env, "run_sub", None)
        if remote is not None:
            out = await remote(
                ref,
                v,
                activation=act,
                principal=st.principal,
                quota=quota.limits_json() if quota is not None else None,
                approved=st.approved,
                state=st,
            )
            # A remote child may report its usage as {"__value__": v, "__usage__": usage()}.
            if type(out) is dict and set(out) == {"__value__", "__usage__"}:
                if st.ledger is not None and isinstance(out["__usage__"], dict):
                    st.ledger.charge(out["__usage__"])
                out = out["__value__"]
        else:
            child_state = type(st)(
                st.env,
                catalog=st.catalog,
                run_id=f"{st.key_prefix[:-1]}/{act}",
                principal=st.principal,
                check=st.check,
                recorder=None,
                ledger=quota,
                strict=st.strict,
                read_attempts=st.attempts,
                retry_interval_s=st.interval,
                backoff_rate=st.backoff,
            )
            child_state.approved = st.approved
            try:
                out = await child.run(v, child_state)
            finally:
                if quota is not None and st.ledger is not None:
                    st.ledger.absorb(quota)
            if child_state.approved:
                st.approved = True
        if st.rec is not None:
            st.rec.add(meta, acts, v, out, sub_attrs, t0)
        return out

    if child.is_sync:

        def run(v: Json, acts: tuple[int, ...], st: RunState) -> Json:
            child_state = type(st)(st.env, catalog=st.catalog, run_id=st.run_id, check=st.check)
            out = child.run_sync(v, child_state)
            if st.rec is not None:
                st.rec.add(meta, acts, v, out, sub_attrs)
            return out

        return True, run
    return False, arun


