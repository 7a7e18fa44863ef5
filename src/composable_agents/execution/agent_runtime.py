"""Run-time compilation of the dynamic ops: ``app`` (the agent loop), ``eval_plan``
(``stage``) and the session channel leaves (``__recv__``/``__emit__``).

Each function has the interpreter's compile convention: it receives the
:class:`~composable_agents.execution.interpreter.Program` being compiled, the
node, its id, and its parent/previous :class:`NodeMeta`, and returns
``(is_sync, fn)`` with ``fn(value, acts, state)``. The interpreter's dispatch
routes ``App``/``EvalPlan`` nodes and the two reserved channel calls here.

Everything is deterministic: the loop reads the Env's clock (virtual locally,
workflow time on Temporal) only for ``wallSeconds`` budgets, and plan
compilation is pure code.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from composable_agents.core.canonical import Json, JsonObject
from composable_agents.core.ir import (
    App,
    CallStep,
    Contract,
    EvalPlan,
    Node,
    Prim,
    SubStep,
    ThinkStep,
)
from composable_agents.core.kinds import Shape
from composable_agents.errors import (
    AgentContinue,
    BudgetExceeded,
    CapabilityDenied,
    ComposableAgentsError,
    RunStopped,
    SessionValidationError,
    StagedPlanRejected,
    StepTypeError,
)
from composable_agents.execution._ops_effects import EVENT_FACTS, _fail, split_usage
from composable_agents.execution.agent_loop import (
    CONTROLLER_MODE_KEY,
    DEFAULT_CONTROLLER_COST_USD,
    DEFAULT_MAX_ROUNDS,
    RESUME_KEY,
    BudgetGuard,
    CallSub,
    CallTool,
    ControllerError,
    Escalate,
    Finish,
    action_json,
    denial,
    estimate_tokens,
    parse_action,
    round_input,
    trace_entry,
)
from composable_agents.execution.env import ReasonerCall
from composable_agents.execution.projection import NodeMeta, activation_id

if TYPE_CHECKING:
    from composable_agents.execution.interpreter import Program, RunState

__all__ = ["SESSION_TOOLS", "compile_app", "compile_eval_plan", "compile_session_call", "status_of"]

SESSION_TOOLS = frozenset({"__recv__", "__emit__"})
"""The reserved channel tools :func:`compile_session_call` handles."""

Compiled = tuple[bool, Any]

PLAN_CACHE_SIZE = 64
"""Compiled plans a ``stage`` keeps (by plan digest) for reuse across its activations."""


def status_of(exc: BaseException) -> tuple[str, JsonObject] | None:
    """``(status, detail)`` when ``exc`` ends a run with a non-``failed`` status, else ``None``."""
    status = getattr(exc, "status", None)
    detail = getattr(exc, "detail", None)
    if isinstance(exc, ComposableAgentsError) and isinstance(status, str) and isinstance(detail, dict):
        return status, detail
    return None


def _as_async(compiled: Compiled) -> Any:
    is_sync, fn = compiled
    if not is_sync:
        return fn

    async def run(v: Json, acts: tuple[int, ...], st: RunState) -> Json:
        return fn(v, acts, st)

    return run


# -- app: the bounded agent loop ----------------------------------------------------


def compile_app(program: Program, node: App, nid: str, parent: NodeMeta | None, prev: NodeMeta | None) -> Compiled:
    """Compile an ``app`` node: the controller picks one action per round (SPEC §10).

    Children get positional ids under the app: ``<nid>.0`` is the controller,
    ``<nid>.<1+i>`` the i-th granted tool, ``<nid>.<1+T+j>`` the j-th sub-flow
    and ``<nid>.<1+T+S>`` the guard that records denials. Round ``r`` runs at
    activation path ``(*acts, r)``.

    Continue-as-new: when the Env sets ``agent_continue_after = N`` (a durable
    runner, from ``AgentConfig.continue_as_new_after``), the loop raises
    :class:`~composable_agents.errors.AgentContinue` every N rounds with the
    JSON state that resumes it; the runner restarts the same node on the same
    input and hands it that state as ``RunState.resume`` (never through the
    input, which the caller controls), and the loop continues at the next
    round with the same trace, last observation, rounds and spend.
    """
    meta = program._meta(node, nid, parent, prev, f"app:{node.controller}")
    controller = node.controller
    program.reasoners.add(controller)
    catalog = program.catalog
    cdef = catalog.reasoner(controller)
    cmeta = program._meta(Prim(step=ThinkStep(controller)), f"{nid}.0", meta, None, controller)
    budget = dict(node.budget or {})
    mode = "permissive" if budget.get(CONTROLLER_MODE_KEY) == "permissive" else "strict"
    controller_cost = (
        node.ann.cost_usd if node.ann is not None and node.ann.cost_usd is not None else DEFAULT_CONTROLLER_COST_USD
    )
    timeout = node.ann.timeout_s if node.ann is not None else None
    max_rounds = node.max_rounds or DEFAULT_MAX_ROUNDS

    tools: dict[str, tuple[Any, float, bool]] = {}
    for i, key in enumerate(node.tools):
        definition = catalog.tool(key)
        if definition is None or key in tools:
            continue
        ann = definition.default_ann
        leaf = Prim(step=CallStep(key, catalog.execution_hashes.get(key)), ann=ann)
        compiled = program._compile(leaf, f"{nid}.{1 + i}", meta, None)
        cost = ann.cost_usd if ann is not None and ann.cost_usd is not None else 0.0
        tools[key] = (_as_async(compiled), cost, bool(definition.contract.approval))
    subs: dict[str, Any] = {}
    base = 1 + len(node.tools)
    for j, ref in enumerate(node.subflows):
        try:
            compiled = program._compile(Prim(step=SubStep(ref, Contract(Shape.AGENT))), f"{nid}.{base + j}", meta, None)
        except ComposableAgentsError:
            continue  # unresolved: calls to it are denied at run time
        subs[ref] = _as_async(compiled)
    gmeta = program._meta(Prim(step=CallStep("__guard__")), f"{nid}.{base + len(node.subflows)}", meta, None, "guard")
    offer = _offer(catalog, node)
    granted_tools = frozenset(node.tools)
    granted_subs = frozenset(node.subflows)

    async def arun(v: Json, acts: tuple[int, ...], st: RunState) -> Json:
        env = st.env
        rec = st.rec
        guard = BudgetGuard(budget, started=env.now())
        trace: list[JsonObject] = []
        last: Json = None
        run_input: Json = v
        first = 0
        # Only a durable runner that continued this run itself hands the loop its state
        # (``st.resume``); an ``{"__agent_resume__": ...}`` input is ordinary data (SPEC §22.1).
        resumed = st.resume
        st.resume = None
        if resumed is not None:  # a continue-as-new segment picks up exactly where the last one stopped
            run_input = resumed["input"]
            trace = list(resumed["trace"])
            last = resumed["last"]
            first = resumed["round"]
            guard.cost = float(resumed["spent"]["cost"])
            guard.tokens = resumed["spent"]["tokens"]
            if type(resumed["started"]) in (int, float):
                guard.started = float(resumed["started"])
        every = getattr(env, "agent_continue_after", 0) or 0

        def stop(status: str, r: int, extra: JsonObject) -> RunStopped:
            detail: JsonObject = {"reason": status, **extra, "rounds": r, "trace": list(trace), "last": last}
            detail["spent"] = guard.to_json()
            if rec is not None:
                rec.add(meta, acts, v, None, {"status": status, "rounds": r, "trace": list(trace)})
            return RunStopped(status, detail)

        for r in range(first, max_rounds):
            if every and r > first and (r - first) % every == 0:
                state: JsonObject = {
                    "input": run_input,
                    "trace": list(trace),
                    "last": last,
                    "round": r,
                    "spent": {"cost": guard.cost, "tokens": guard.tokens},
                    "started": guard.started,
                }
                raise AgentContinue({RESUME_KEY: state})
            ract = (*acts, r)
            prompt = round_input(run_input, trace, last)
            tokens = estimate_tokens(prompt)
            over = guard.refuse(cost=controller_cost, tokens=tokens, now=env.now())
            if over is not None:
                raise stop("over_budget", r, {"exceeded": over, "before": "controller"})
            ledger = getattr(st, "ledger", None)
            if ledger is not None:  # the run's capability budget / maxCalls ledger, when the runner keeps one
                ledger.spend_think(tokens, controller_cost, f"controller {controller!r} at {activation_id(nid, ract)}")
            call = ReasonerCall(
                name=controller,
                node_id=f"{nid}.0",
                activation=activation_id(f"{nid}.0", ract),
                value=prompt,
                definition=cdef,
                timeout_s=timeout,
                principal=st.principal,
                offer=offer,
            )
            try:
                reply = await env.invoke_reasoner(call)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                raise _fail(cmeta, ract, exc) from exc
            reply, usage = split_usage(reply)
            spent_cost = controller_cost
            spent_tokens = tokens + (estimate_tokens(reply) if reply is not None else 0)
            if usage is not None:  # split_usage checked it: an int ``tokens``, a float ``cost`` if reported
                spent_tokens = usage["tokens"]
                spent_cost = usage.get("cost", spent_cost)
            if ledger is not None and usage is not None:
                ledger.record_usage(spent_tokens, spent_cost - controller_cost)
            guard.spend(cost=spent_cost, tokens=spent_tokens)
            if rec is not None:
                cattrs: JsonObject = {"cost": spent_cost, "round": r}
                if usage is not None:  # a real model's usage and provider facts (models.router())
                    cattrs["usage"] = usage
                    cattrs.update({k: usage[k] for k in EVENT_FACTS if k in usage})
                rec.add(cmeta, ract, prompt, reply, cattrs)
            action = parse_action(reply, mode=mode)  # type: ignore[arg-type]
            if isinstance(action, ControllerError):
                raise stop("controller_error", r + 1, {"error": action.reason, "reply": action.reply})
            if isinstance(action, Finish):
                trace.append(trace_entry(r, action, "ok", None))
                if rec is not None:
                    rec.add(meta, acts, v, action.value, {"status": "ok", "rounds": r + 1, "trace": list(trace)})
                return action.value
            if isinstance(action, Escalate):
                trace.append(trace_entry(r, action, "ok", None))
                raise stop("escalated", r + 1, {"escalation": action.reason})
            if isinstance(action, CallTool):
                kind, name, granted = "tool", action.tool, granted_tools
                entry = tools.get(name)
                fn = entry[0] if entry is not None else None
                cost = entry[1] if entry is not None else 0.0
                needs_approval = entry[2] if entry is not None else False
            else:
                assert isinstance(action, CallSub)
                kind, name, granted = "sub", action.flow, granted_subs
                fn = subs.get(name)
                cost, needs_approval = 0.0, False
            reason = None
            if name not in granted:
                reason = "not_granted"
            elif fn is None:
                reason = "unresolved"
            elif needs_approval:
                reason = "approval_required"
            if reason is not None:
                obs: Json = denial(kind, name, reason)
                if rec is not None:
                    rec.add(gmeta, ract, action_json(action), obs, {"denied": True, "kind": kind, "name": name, "reason": reason})
                trace.append(trace_entry(r, action, "denied", obs))
                last = obs
                continue
            over = guard.refuse(cost=cost, now=env.now())
            if over is not None:
                raise stop("over_budget", r + 1, {"exceeded": over, "before": f"{kind}:{name}"})
            assert fn is not None
            # SPEC §22.6: an approval before the agent covers none of the controller's picks; a
            # sub-flow it runs starts unapproved, so its dangerous tools need their own gate.
            approved, st.approved = st.approved, False
            try:
                obs = await fn(action.input, ract, st)
                status = "ok"
            except asyncio.CancelledError:
                raise
            except BudgetExceeded:
                raise  # the run's own budget refused the spend: the run ends over_budget
            except (CapabilityDenied, StepTypeError) as exc:
                status = "denied" if isinstance(exc, CapabilityDenied) else "error"
                obs = denial(kind, name, type(exc).__name__, str(exc)) if status == "denied" else {
                    "error": type(exc).__name__,
                    "kind": kind,
                    "name": name,
                    "message": str(exc),
                }
                if rec is not None:
                    rec.add(gmeta, ract, action_json(action), obs, {"denied": status == "denied", "kind": kind, "name": name})
            finally:
                st.approved = approved
            guard.spend(cost=cost)
            trace.append(trace_entry(r, action, status, obs))
            last = obs
        raise stop("max_rounds", max_rounds, {"maxRounds": max_rounds})

    return False, arun


def _offer(catalog: Any, node: App) -> JsonObject:
    """What the controller is granted, for an LLM that offers it to a real model as provider tools.

    Only granted tools that exist are listed, each with its contract's input
    schema; nothing else reaches the model, so a name it invents is denied.
    """
    tools: list[Json] = []
    for key in dict.fromkeys(node.tools):
        definition = catalog.tool(key)
        if definition is None:
            continue
        doc = (getattr(definition.fn, "__doc__", None) or "").strip().split("\n\n", 1)[0]
        entry: JsonObject = {"name": key, "description": " ".join(doc.split()) or f"Call the tool {key!r}."}
        entry["input"] = dict(definition.contract.input_schema or {})
        tools.append(entry)
    subflows: list[Json] = [{"name": ref, "description": f"Run the sub-flow {ref!r}."} for ref in dict.fromkeys(node.subflows)]
    return {"tools": tools, "subflows": subflows}


# -- eval_plan: stage ------------------------------------------------------------------


def compile_eval_plan(
    program: Program, node: EvalPlan, nid: str, parent: NodeMeta | None, prev: NodeMeta | None
) -> Compiled:
    """Compile a ``stage``: ask the planner, compile its plan (:mod:`composable_agents.execution.staged`), run it.

    The plan's ids are prefixed under ``<nid>.0``; it runs on the stage's input
    in the same run state (its steps land in the same projection). The
    stage's ``Ann(cost_usd=...)``, when set, caps the plan's cost estimate. A
    rejected plan ends the run with status ``plan_rejected``.
    """
    from composable_agents.execution.interpreter import Program as _Program
    from composable_agents.execution.staged import compile_plan, plan_context

    meta = program._meta(node, nid, parent, prev, f"stage:{node.planner}")
    planner = node.planner
    program.reasoners.add(planner)
    catalog = program.catalog
    pdef = catalog.reasoner(planner)
    budget = node.ann.cost_usd if node.ann is not None else None
    ctx = plan_context(catalog, budget_usd=budget)
    timeout = node.ann.timeout_s if node.ann is not None else None
    attempts = node.ann.max_attempts if node.ann is not None and node.ann.max_attempts else 1
    root = f"{nid}.0"
    cache: dict[str, Any] = {}

    async def arun(v: Json, acts: tuple[int, ...], st: RunState) -> Json:
        act = activation_id(nid, acts)
        call = ReasonerCall(
            name=planner,
            node_id=nid,
            activation=act,
            value=v,
            definition=pdef,
            timeout_s=timeout,
            max_attempts=attempts,
            principal=st.principal,
        )
        try:
            reply = await st.env.invoke_reasoner(call)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise _fail(meta, acts, exc) from exc
        try:
            plan = compile_plan(reply, ctx, prefix=root)
            digest = plan.digest()
            child = cache.get(digest)
            if child is None:
                if len(cache) >= PLAN_CACHE_SIZE:  # bounded: a stage in a loop may see many distinct plans
                    cache.pop(next(iter(cache)))
                child = _Program(plan, catalog, root_id=root, trusted=False)
                cache[digest] = child
        except StagedPlanRejected as exc:
            if st.rec is not None:
                st.rec.add(meta, acts, v, None, {"status": "plan_rejected", "diagnostics": exc.detail["diagnostics"]})
            raise
        except Exception as exc:  # noqa: BLE001 - whatever a plan does, the run ends plan_rejected (SPEC §22.3)
            rejected = _plan_compile_error(root, exc)
            if st.rec is not None:
                st.rec.add(meta, acts, v, None, {"status": "plan_rejected", "diagnostics": rejected.detail["diagnostics"]})
            raise rejected from None
        out = await child.run(v, st)
        if st.rec is not None:
            st.rec.add(meta, acts, v, out, {"planner": planner, "plan": digest})
        return out

    return False, arun


def _plan_compile_error(root: str, exc: BaseException) -> StagedPlanRejected:
    from composable_agents.compiler.diagnostics import Diagnostic
    from composable_agents.execution.staged import PLAN_CODES

    message = f"the admitted plan could not be prepared: {type(exc).__name__}: {exc}"[:300]
    diag = Diagnostic(code="PLAN_COMPILE", node_id=root, message=message, severity="error", hint=PLAN_CODES["PLAN_COMPILE"])
    return StagedPlanRejected(f"plan rejected (PLAN_COMPILE): {message}", [diag])


# -- session channels --------------------------------------------------------------------


def compile_session_call(
    program: Program, node: Prim, nid: str, parent: NodeMeta | None, prev: NodeMeta | None
) -> Compiled:
    """Compile a ``__recv__``/``__emit__`` leaf.

    ``recv`` takes this turn's message from the Env's session turn
    (``env.session``) and yields ``{"carrier": <its input>, "msg": <message>}``;
    ``emit`` publishes its input on its channel and passes it through. Outside
    a session both raise :class:`SessionValidationError`.
    """
    step = node.step
    assert isinstance(step, CallStep) and step.tool in SESSION_TOOLS
    channel = str((step.args or {}).get("channel", "in" if step.tool == "__recv__" else "out"))
    meta = program._meta(node, nid, parent, prev, f"{step.tool.strip('_')}:{channel}")
    is_recv = step.tool == "__recv__"

    def run(v: Json, acts: tuple[int, ...], st: RunState) -> Json:
        turn = getattr(st.env, "session", None)
        if turn is None:
            msg = f"{step.tool} at {nid} ran outside a session; open it with agent.open(session=...)"
            raise SessionValidationError(msg)
        if is_recv:
            out: Json = {"carrier": v, "msg": turn.take(channel)}
        else:
            turn.emit(channel, v)
            out = v
        if st.rec is not None:
            st.rec.add(meta, acts, v, out, {"channel": channel})
        return out

    return True, run


def route(node: Node) -> Any:
    """The compile function for ``node`` if it belongs to this module, else ``None``."""
    if type(node) is App:
        return compile_app
    if type(node) is EvalPlan:
        return compile_eval_plan
    if type(node) is Prim and isinstance(node.step, CallStep) and node.step.tool in SESSION_TOOLS:
        return compile_session_call
    return None
