"""The workflow side of durable runs: ``TemporalEnv`` and the ``FlowWorkflow`` body.

This module is passed through the workflow sandbox (it is part of
``composable_agents``), so worker contexts and prepared programs live once
per process. :func:`run_flow` is what ``FlowWorkflow.run`` awaits: it loads
the artifact (cached by hash), checks the pinned pure hashes against the ones
the worker recorded at start-up **before the first step**, then runs the
shared interpreter with a :class:`TemporalEnv`:

- tool calls → the ``callTool`` activity, reasoners → ``invokeReasoner``
  (the only two activities), with each call's retry policy and per-attempt
  timeout as the activity's ``RetryPolicy`` / ``start_to_close_timeout``;
- ``gather`` → workflow tasks, ``sleep`` → a durable timer, ``now`` →
  ``workflow.time()``;
- ``run_sub`` → a child ``FlowWorkflow`` carrying the child's artifact;
- a final ``{"__continue__": x}`` → continue-as-new under the same artifact.

Every failure the interpreter raises ends the workflow with a non-retryable
``ApplicationError`` whose ``type`` names the error class (or the activity
error's type), so a verdict is never retried as a workflow task.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final, NoReturn, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError
from temporalio.exceptions import CancelledError as TemporalCancelledError

from composable_agents.core.canonical import Json, JsonObject
from composable_agents.core.pures import DEFAULT_REGISTRY, Registry
from composable_agents.core.secrets import redact
from composable_agents.errors import POLICY_ERRORS, ComposableAgentsError
from composable_agents.execution.agent_loop import RESUME_KEY
from composable_agents.execution.env import GateRequest, ReasonerCall, Thunk, ToolCall
from composable_agents.execution.interpreter import RunState, is_continuation
from composable_agents.execution.projection import (
    PROJECTION_FORMAT,
    NodeMeta,
    Projection,
    Recorder,
    ValueStore,
)
from composable_agents.temporal._trust import admit_run
from composable_agents.temporal.artifact import (
    LoadedArtifact,
    load_artifact,
    pure_hashes,
)

if TYPE_CHECKING:
    from composable_agents.compiler.deploy import Deployment

__all__ = [
    "AGENT_WORKFLOW",
    "CALL_TOOL",
    "FLOW_WORKFLOW",
    "INVOKE_REASONER",
    "NON_RETRYABLE_TYPES",
    "SESSION_WORKFLOW",
    "FlowRun",
    "TemporalEnv",
    "WorkerContext",
    "decode_projection",
    "encode_projection",
    "register_context",
    "run_flow",
]

T = TypeVar("T")

CALL_TOOL: Final = "callTool"
INVOKE_REASONER: Final = "invokeReasoner"
FLOW_WORKFLOW: Final = "FlowWorkflow"
AGENT_WORKFLOW: Final = "AgentWorkflow"
SESSION_WORKFLOW: Final = "SessionWorkflow"

NON_RETRYABLE_TYPES: Final = tuple(e.__name__ for e in POLICY_ERRORS) + (
    "ToolNotFound",
    "ToolDefinitionMismatch",
    "ReasonerNotFound",
    "MissingLLM",
    "ArtifactNotHosted",
    "ArtifactTooLarge",
    "MissingFakeError",
)
"""Error types an activity never retries (policy verdicts and configuration faults).

The activities raise them as non-retryable ``ApplicationError``s themselves, so the
list is not repeated in every scheduled activity's retry policy (history bytes)."""


@dataclass(eq=False)
class WorkerContext:
    """What a worker hosts: its pure registry, hosted deployments, start-up pure hashes."""

    registry: Registry = DEFAULT_REGISTRY
    hosted: dict[str, Deployment[Any, Any]] = field(default_factory=dict)
    hashes: dict[int, dict[str, str]] = field(default_factory=dict)

    def snapshot(self) -> None:
        """Record the source hash of every pure this worker can run (called at start-up)."""
        self.hashes[id(self.registry)] = pure_hashes(self.registry)
        for dep in self.hosted.values():
            self.hashes.setdefault(id(dep.registry), pure_hashes(dep.registry))

    def hashes_for(self, registry: Registry) -> dict[str, str]:
        """Pure hashes recorded at start-up for ``registry``."""
        found = self.hashes.get(id(registry))
        if found is None:
            found = self.hashes[id(registry)] = pure_hashes(registry)
        return found


_CONTEXTS: dict[str | None, WorkerContext] = {}


def register_context(context: WorkerContext, task_queue: str | None) -> None:
    """Make ``context`` serve workflows on ``task_queue`` (``None``: any queue, e.g. replays)."""
    _CONTEXTS[task_queue] = context


def context_for(task_queue: str) -> WorkerContext:
    """The context registered for ``task_queue`` (falls back to the catch-all one, then a default)."""
    found = _CONTEXTS.get(task_queue) or _CONTEXTS.get(None)
    if found is None:
        found = WorkerContext()
        found.snapshot()
        _CONTEXTS[None] = found
    return found


# -- projection on the wire ------------------------------------------------------


def encode_projection(recorder: Recorder, metas: Sequence[NodeMeta] = ()) -> JsonObject:
    """A compact projection: ``[meta ref, acts, in ref, out ref, attrs?, started?, ended?]`` rows plus a value store.

    A meta ref is the node's index in ``metas`` (the artifact's prepared
    program, which the client rebuilds identically) or, for nodes prepared at
    run time (a staged plan's), ``"m<k>"`` into an inline table ``"M"`` of
    ``[node id, op, shape, label, cost, parent ref, prev ref, facts?]`` rows.
    Times are workflow-clock seconds (``None`` where a step did not wait);
    ``"f"`` is the format version (:data:`PROJECTION_FORMAT`).
    """
    store = ValueStore()
    ref = store.ref
    table: list[Json] = []
    meta_refs: dict[int, Json] = {}

    def mref(meta: NodeMeta | None) -> Json:
        if meta is None:
            return None
        if meta.index < len(metas) and metas[meta.index] is meta:
            return meta.index
        found = meta_refs.get(id(meta))
        if found is None:
            found = f"m{len(table)}"
            meta_refs[id(meta)] = found
            row: list[Json] = [meta.node_id, str(meta.op), str(meta.shape), meta.label, meta.cost_usd]
            table.append(row)
            row.extend((mref(meta.parent), mref(meta.prev)))
            if meta.facts:
                row.append(dict(meta.facts))
        return found

    raw, marks = recorder.snapshot()
    rows: list[Json] = []
    for meta, acts, v_in, v_out, attrs, started, ended in raw:
        row: list[Json] = [mref(meta), list(acts), ref(v_in), ref(v_out)]
        if ended is not None:
            row.extend((redact(dict(attrs)) if attrs else None, started, ended))
        elif attrs:
            row.append(redact(dict(attrs)))
        rows.append(row)
    # SPEC §22.5: this form lands in workflow results, queries and failure details (the
    # history), so it never holds a credential verbatim; the run's value is not touched.
    out: JsonObject = {"f": PROJECTION_FORMAT, "e": rows, "x": [redact(v) for v in store.values]}
    if table:
        out["M"] = table
    if recorder.dropped:
        out["d"] = recorder.dropped
    if marks:
        out["m"] = [list(m) for m in marks]
    return out


def decode_projection(doc: Mapping[str, Any] | None, metas: Sequence[NodeMeta]) -> Projection:
    """Rebuild a :class:`Projection` from :func:`encode_projection` output and the program's metas."""
    if not doc:
        return Projection([])
    from composable_agents.core.kinds import Op, Shape

    table = doc.get("M", [])
    built: dict[str, NodeMeta] = {}

    def meta_of(ref: Any) -> NodeMeta | None:
        if ref is None:
            return None
        if isinstance(ref, int):
            return metas[ref]
        found = built.get(ref)
        if found is None:
            entry = table[int(ref[1:])]
            node_id, op, shape, label, cost, parent, prev = entry[:7]
            found = NodeMeta(
                index=-1, node_id=node_id, op=Op(op), shape=Shape(shape), parent=meta_of(parent),
                prev=meta_of(prev), label=label, cost_usd=cost, facts=entry[7] if len(entry) > 7 else None,
            )
            built[ref] = found
        return found

    values = doc.get("x", [])
    raw = [
        (
            meta_of(row[0]), tuple(row[1]), values[row[2]], values[row[3]], row[4] if len(row) > 4 else None,
            row[5] if len(row) > 6 else None, row[6] if len(row) > 6 else None,
        )
        for row in doc.get("e", [])
    ]
    marks = [(int(a), int(b)) for a, b in doc.get("m", [])]
    return Projection(raw, int(doc.get("d", 0)), marks=marks)  # type: ignore[arg-type]


# -- errors ------------------------------------------------------------------------


def _app_cause(exc: BaseException) -> ApplicationError | None:
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 16:
        if isinstance(current, ApplicationError):
            return current
        nxt = getattr(current, "cause", None) or current.__cause__
        current = nxt if isinstance(nxt, BaseException) else None
        seen += 1
    return None


def failure_detail(exc: BaseException) -> tuple[str, JsonObject]:
    """The error type and detail record a failed run reports."""
    etype = type(exc).__name__
    cause = _app_cause(exc.__cause__) if exc.__cause__ is not None else None
    if isinstance(exc, ApplicationError):
        cause = exc
    if cause is not None and cause.type:
        etype = cause.type
    from composable_agents.execution.result import status_of

    detail: JsonObject = dict(status_of(exc)[1])
    detail["error"] = etype
    if cause is not None and cause is not exc:
        detail["cause"] = cause.message
    return etype, detail


def _as_app_error(
    exc: BaseException, recorder: Recorder | None = None, metas: Sequence[NodeMeta] = ()
) -> ApplicationError:
    etype, detail = failure_detail(exc)
    details: JsonObject = {"detail": detail}
    if recorder is not None:
        details["p"] = encode_projection(recorder, metas)
    return ApplicationError(str(exc), details, type=etype, non_retryable=True)


def _is_sdk_internal(exc: BaseException) -> bool:
    # Nondeterminism and sandbox violations must fail the workflow *task* (fix and redeploy).
    name = type(exc).__module__
    return name.startswith("temporalio.") and not isinstance(exc, ApplicationError | _FailureErrors)


from temporalio.exceptions import FailureError

# The SDK's failure types that arrive as the cause of a step error.
_FailureErrors: tuple[type[BaseException], ...] = (FailureError, ActivityError, ChildWorkflowError)


def _reraise_cancel(exc: BaseException) -> None:
    """A cancelled activity/child (a losing race branch) surfaces as ``asyncio.CancelledError``."""
    if isinstance(getattr(exc, "cause", None), TemporalCancelledError):
        raise asyncio.CancelledError from exc


# -- the Env -----------------------------------------------------------------------


class TemporalEnv:
    """The Env of a workflow run: activities, timers and workflow tasks."""

    __slots__ = ("_info", "agent_continue_after", "heartbeat_s", "loaded", "policy", "run")

    def __init__(self, loaded: LoadedArtifact, run: FlowRun | None = None) -> None:
        self.loaded = loaded
        self.policy = loaded.policy
        self.run = run
        self._info: Any = None
        self.agent_continue_after = 0
        """Rounds an ``app`` at the root runs per history segment (``AgentWorkflow``; 0: never continue)."""
        self.heartbeat_s: float | None = None
        """Heartbeat timeout of tool calls that may run longer (the run's ``heartbeat_s``)."""

    def _prefix(self) -> str:
        if self._info is None:
            self._info = workflow.info().workflow_id + ":"
        return self._info  # type: ignore[no-any-return]

    def _timeout(self, seconds: float | None) -> timedelta:
        return timedelta(seconds=seconds if seconds else self.policy.start_to_close_s)

    async def call_tool(self, call: ToolCall) -> Json:
        """One ``callTool`` activity; the SDK owns retries (``RetryPolicy``) and timeouts."""
        req: dict[str, Json] = {"k": call.key, "v": call.value}
        # The key is "<run id>:<activation>"; the run id is the workflow id, which the
        # activity knows, so only the activation rides when it can be rebuilt there.
        key_id = call.idempotency_key
        prefix = self._prefix()
        if key_id.startswith(prefix):
            req["ia"] = key_id[len(prefix):]
        else:
            req["i"] = key_id
        want = self.loaded.tool_hashes.get(call.key)
        if want is not None:
            req["d"] = want
        if call.principal is not None:
            req["p"] = call.principal
        retry = RetryPolicy(
            initial_interval=timedelta(seconds=call.retry_interval_s),
            backoff_coefficient=max(1.0, call.backoff_rate),
            maximum_attempts=max(1, call.max_attempts),
        )
        # the worker heartbeats while the tool runs: a dead worker is noticed after this, not the timeout
        return await self._execute(CALL_TOOL, req, call, retry, self.heartbeat_s)

    async def _execute(
        self, activity: str, req: dict[str, Json], call: ToolCall | ReasonerCall, retry: RetryPolicy,
        heartbeat_s: float | None,
    ) -> Json:
        """Schedule ``activity`` for ``call``: the SDK retries it under ``retry``, unless the run
        charges each attempt (``call.on_retry``), when the workflow drives the attempts.

        ``heartbeat_s`` applies only when it is shorter than the call's timeout."""
        timeout = self._timeout(call.timeout_s)
        heartbeat = None
        if heartbeat_s and heartbeat_s < timeout.total_seconds():
            heartbeat = timedelta(seconds=heartbeat_s)
        if call.on_retry is not None and call.max_attempts > 1:
            return await self._charged_attempts(activity, req, call, timeout, heartbeat)
        try:
            return await workflow.execute_activity(
                activity,
                req,
                start_to_close_timeout=timeout,
                retry_policy=retry,
                heartbeat_timeout=heartbeat,
            )
        except ActivityError as exc:
            _reraise_cancel(exc)
            raise

    async def _charged_attempts(
        self,
        activity: str,
        req: dict[str, Json],
        call: ToolCall | ReasonerCall,
        timeout: timedelta,
        heartbeat: timedelta | None,
    ) -> Json:
        """Retries driven by the workflow, one single-attempt activity each, so the run's ledger
        charges (or refuses) every attempt before it starts (SPEC §22.2); the backoff is a durable
        timer, or the ``next_retry_delay`` the failed attempt asked for (a provider's Retry-After)."""
        on_retry = call.on_retry
        assert on_retry is not None
        max_attempts = call.max_attempts
        backoff = call.backoff_rate
        delay = call.retry_interval_s
        attempt = 1
        while True:
            try:
                return await workflow.execute_activity(
                    activity,
                    req,
                    start_to_close_timeout=timeout,
                    retry_policy=RetryPolicy(maximum_attempts=1),
                    heartbeat_timeout=heartbeat,
                )
            except ActivityError as exc:
                _reraise_cancel(exc)
                cause = exc.cause
                final = isinstance(cause, ApplicationError) and (cause.non_retryable or cause.type in NON_RETRYABLE_TYPES)
                if final or attempt >= max_attempts:
                    raise
                asked = cause.next_retry_delay if isinstance(cause, ApplicationError) else None
            attempt += 1
            on_retry(attempt)
            wait = asked.total_seconds() if asked is not None else delay
            if wait > 0:
                await asyncio.sleep(wait)
            delay *= max(1.0, backoff)

    async def invoke_reasoner(self, call: ReasonerCall) -> Json:
        """One ``invokeReasoner`` activity (the frozen reasoner by name + hash, and the prompt value)."""
        req: dict[str, Json] = {"r": call.name, "v": call.value}
        want = self.loaded.reasoner_hashes.get(call.name)
        if want is not None:
            req["d"] = want
        else:
            req["a"] = self.loaded.hash
        if call.principal is not None:
            req["p"] = call.principal
        if call.offer is not None:
            req["o"] = call.offer
        return await self._execute(INVOKE_REASONER, req, call, RetryPolicy(maximum_attempts=max(1, call.max_attempts)), None)

    async def gather(self, thunks: Sequence[Thunk[T]]) -> list[T]:
        """Start every thunk as a workflow task (in thunk order); the first failure cancels the rest."""
        if len(thunks) == 1:
            return [await thunks[0]()]
        tasks = [asyncio.ensure_future(t()) for t in thunks]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        return [t.result() for t in tasks]

    async def race(
        self, thunks: Sequence[Thunk[T]], *, k: int = 1, hedge_s: float | None = None
    ) -> list[tuple[int, T]]:
        """Settle on success (the shared ``race_over`` contract); hedges wait on durable timers."""
        from composable_agents.execution.env import race_over

        return await race_over(self, thunks, k=k, hedge_s=hedge_s)

    async def gate(self, request: GateRequest) -> JsonObject:
        """Wait durably for a ``submitHuman`` signal for this activation (or the gate's timeout)."""
        run = self.run
        if run is None:  # pragma: no cover - FlowWorkflow always passes its run
            return {"approved": False, "reason": "timeout", "by": None}
        act = request.activation
        try:
            await workflow.wait_condition(lambda: act in run.decisions, timeout=request.timeout_s)
        except TimeoutError:
            return {"approved": False, "reason": "timeout", "by": None}
        decision = run.decisions.pop(act)
        return {
            "approved": decision.get("approved") is True,
            "reason": decision.get("reason"),
            "by": decision.get("by"),
        }

    async def sleep(self, seconds: float) -> None:
        """A durable timer."""
        if seconds > 0:
            await asyncio.sleep(seconds)

    def now(self) -> float:
        """Workflow time (deterministic under replay)."""
        return workflow.time()

    async def run_sub(
        self,
        ref: str,
        value: Json,
        *,
        activation: str,
        principal: Json = None,
        quota: Any = None,
        approved: bool = False,
        state: Any = None,
        **_: Any,
    ) -> Json:
        """Run the named sub-flow ``ref`` as a child ``FlowWorkflow`` carrying its own artifact.

        ``quota`` (the caller's remaining limits in manifest form, as
        ``Ledger.limits_json()`` gives them, or a ``Ledger``) rides in the
        child's input as its limits; the child's usage comes back as
        ``{"__value__": v, "__usage__": usage}`` (or is charged to a ``Ledger`` quota). ``approved``
        (an approving gate already passed on this path) is inherited by the
        child; when the child passes one itself and ``state`` (the caller's
        ``RunState``) is given, ``state.approved`` is set, as for a local child.
        """
        from composable_agents.errors import RunStopped
        from composable_agents.execution.limits import Ledger

        part, agent = self.loaded.child_part(ref)  # the child derives the hash from the carried document
        payload: dict[str, Json] = dict(part)
        payload["v"] = value
        payload["np"] = True
        if principal is not None:
            payload["pr"] = principal
        if approved:
            payload["ap"] = True
        if self.heartbeat_s:
            payload["hb"] = self.heartbeat_s
        if isinstance(quota, Ledger):
            payload["q"] = quota.limits_json()
        elif isinstance(quota, Mapping):
            payload["q"] = dict(quota)
        info = workflow.info()
        if agent:
            # an agent sub-flow runs as a child AgentWorkflow: its own history, continue-as-new
            kind = AGENT_WORKFLOW
            payload["cn"] = self.agent_continue_after or int(
                (self.run.agent_every if self.run is not None else 0) or DEFAULT_CONTINUE_AS_NEW_AFTER
            )
        else:
            kind = FLOW_WORKFLOW
        try:
            result = await workflow.execute_child_workflow(
                kind,
                payload,
                id=f"{info.workflow_id}/{activation}",
                task_queue=info.task_queue,
            )
        except ChildWorkflowError as exc:
            _reraise_cancel(exc)
            raise
        if result.get("ap") and state is not None:
            state.approved = True
        usage = result.get("u")
        if isinstance(quota, Ledger):
            quota.charge(usage or {})
        status = result.get("s", "ok")
        if status != "ok":
            stop = RunStopped(status, result.get("d") or {}, f"sub-flow {ref!r} at {activation} ended with {status!r}")
            stop.usage = usage  # type: ignore[attr-defined]  # what the child spent before it stopped
            ledger = getattr(state, "ledger", None)
            if isinstance(quota, Mapping) and usage and ledger is not None:
                ledger.charge(usage)
            raise stop
        if isinstance(quota, Mapping) and usage is not None:
            # The interpreter's remote-sub convention: the child's usage rides with its value.
            return {"__value__": result["v"], "__usage__": usage}
        return result["v"]


# -- the workflow body ----------------------------------------------------------------


class FlowRun:
    """Per-run state the workflow's signal and queries touch."""

    __slots__ = ("agent_every", "decisions", "recorder")

    def __init__(self) -> None:
        self.recorder: Recorder | None = None
        self.decisions: dict[str, JsonObject] = {}
        self.agent_every = 0

    def submit(self, decision: Mapping[str, Any]) -> None:
        """Record a human decision ``{"activation", "approved", "reason"?, "by"?}`` (the ``submitHuman`` signal)."""
        act = decision.get("activation")
        if isinstance(act, str):
            self.decisions[act] = dict(decision)

    def projection_json(self) -> JsonObject:
        """The projection so far (events, values, cost by shape, pending gates)."""
        if self.recorder is None:
            return Projection([]).to_json()
        return self.recorder.projection().to_json()

    def open_gates(self) -> list[str]:
        """Activation ids of gates waiting for a decision."""
        return sorted(self.recorder.open_gates) if self.recorder is not None else []


def _restore_projection(recorder: Recorder, doc: Mapping[str, Any], metas: Sequence[Any]) -> None:
    carried = decode_projection(doc, metas)
    recorder.restore(carried._raw, carried.dropped, carried.marks)


def _restore_ledger(ledger: Any, usage: Mapping[str, Any] | None) -> None:
    if ledger is None or not usage:
        return
    ledger.calls.update({str(k): int(v) for k, v in (usage.get("calls") or {}).items()})
    ledger.cost = float(usage.get("cost", 0.0))
    ledger.tokens = int(usage.get("tokens", 0))


DEFAULT_CONTINUE_AS_NEW_AFTER: Final = 50
"""``AgentConfig().continue_as_new_after``: rounds per ``AgentWorkflow`` history segment."""


def _prepare_run(payload: Mapping[str, Any], run: FlowRun, agent: bool) -> tuple[LoadedArtifact, RunState, Any, Recorder | None, int, float]:
    """Load and admit the artifact, then build the run's Env, ledger, recorder and state from ``payload``."""
    from composable_agents.execution.limits import ledger_from_capabilities

    info = workflow.info()
    ctx = context_for(info.task_queue)
    loaded = load_artifact(payload, registry=ctx.registry, hosted=ctx.hosted, hashes_for=ctx.hashes_for)
    # Nothing in the input is trusted: pins every run, gates on first sight, carried state
    # only across this run's own continue-as-new, "ap" only from a parent (SPEC §22.4, §22.7).
    admitted = admit_run(payload, info, loaded, ctx.hashes_for(loaded.registry))
    carried = admitted.carried
    segment = int(carried.get("seg", 0))
    env = TemporalEnv(loaded, run)
    if payload.get("hb"):
        env.heartbeat_s = float(payload["hb"])
    every = payload.get("cn")
    run.agent_every = int(every or 0)  # also what a child AgentWorkflow of this run gets
    if agent:
        env.agent_continue_after = int(DEFAULT_CONTINUE_AS_NEW_AFTER if every is None else every)
    started = float(carried.get("t0", workflow.time()))
    quota = payload.get("q")
    if quota is not None:  # a child run: the parent's quota (manifest form) limits it, not the capabilities
        from composable_agents.execution.limits import Ledger

        ledger: Any = ledger_from_capabilities(quota, start=started, clock=env.now) or Ledger(clock=env.now)
    else:
        ledger = ledger_from_capabilities(loaded.capabilities, start=started, clock=env.now)
    _restore_ledger(ledger, carried.get("lg"))
    recorder = None if payload.get("np") else Recorder()
    if recorder is not None:
        if carried.get("pp"):
            _restore_projection(recorder, carried["pp"], loaded.program.metas)
        if segment:
            recorder.start_segment(segment)
    run.recorder = recorder
    policy = loaded.policy
    state = RunState(
        env,
        catalog=loaded.program.catalog,
        run_id=info.workflow_id,
        principal=payload.get("pr"),
        check=policy.check_types,
        recorder=recorder,
        ledger=ledger,
        strict=True,
        segment=segment,
        read_attempts=policy.read_max_attempts,
        retry_interval_s=policy.initial_interval_s,
        backoff_rate=policy.backoff_coefficient,
    )
    state.approved = admitted.approved
    state.resume = admitted.resume
    return loaded, state, ledger, recorder, segment, started


def _malformed_input(exc: BaseException) -> ApplicationError:
    """A workflow input this worker cannot read: a verdict (non-retryable), never a failing workflow task."""
    msg = f"the workflow input is malformed: {type(exc).__name__}: {exc}"[:500]
    detail: JsonObject = {"error": "InvalidWorkflowInput", "message": msg}
    return ApplicationError(msg, {"detail": detail}, type="InvalidWorkflowInput", non_retryable=True)


async def run_flow(payload: Mapping[str, Any], run: FlowRun, *, agent: bool = False) -> JsonObject:
    """The ``FlowWorkflow`` body: load, verify pins, interpret, finish (or continue as new).

    ``agent=True`` is the ``AgentWorkflow`` body: the artifact's root is an
    ``app`` loop, the Env asks it to stop every ``payload["cn"]`` rounds
    (``AgentContinue``), and the run continues as new with the loop's resume
    state as input, carrying the segment number, the capability ledger's
    usage, the principal and the projection so far.
    """
    from composable_agents.errors import AgentContinue
    from composable_agents.execution.result import status_of

    try:
        loaded, state, ledger, recorder, segment, started = _prepare_run(payload, run, agent)
    except ComposableAgentsError as exc:
        raise _as_app_error(exc) from None
    except Exception as exc:
        if _is_sdk_internal(exc):
            raise
        raise _malformed_input(exc) from None
    limit = loaded.policy.max_segments

    def continue_as_new(nxt: dict[str, Any]) -> NoReturn:
        """Continue as new with ``nxt`` plus the carried state (segment, start, usage, projection)."""
        if segment + 1 >= limit:
            raise _as_app_error(_segment_limit(limit), recorder, loaded.program.metas) from None
        nxt["seg"] = segment + 1
        nxt["t0"] = started
        if ledger is not None:
            nxt["lg"] = ledger.usage()
        if recorder is not None:
            nxt["pp"] = encode_projection(recorder, loaded.program.metas)
        workflow.continue_as_new(nxt)

    try:
        out = await loaded.program.run(payload.get("v"), state)
    except asyncio.CancelledError:
        raise
    except AgentContinue as more:
        nxt = dict(payload)
        nxt["ar"] = more.state.get(RESUME_KEY)  # the loop resumes from this, never from "v"
        continue_as_new(nxt)
    except Exception as exc:
        if _is_sdk_internal(exc):
            raise
        if isinstance(exc, ApplicationError) and exc.non_retryable:
            raise
        status, detail = status_of(exc)
        if status == "failed":
            raise _as_app_error(exc, recorder, loaded.program.metas) from None
        stopped: JsonObject = {"s": status, "v": None, "d": detail}
        _finish(stopped, recorder, ledger, segment, state.approved and "np" in payload, loaded.program.metas)
        return stopped
    if is_continuation(out, state):  # only the flow's own std.continue_with (SPEC §22.1)
        nxt = dict(payload)
        nxt.pop("ar", None)
        nxt["v"] = out["__continue__"]  # type: ignore[index,call-overload,unused-ignore]
        continue_as_new(nxt)
    result: JsonObject = {"v": out}
    _finish(result, recorder, ledger, segment, state.approved and "np" in payload, loaded.program.metas)
    return result


def _segment_limit(limit: int) -> BaseException:
    from composable_agents.errors import SegmentLimitExceeded

    return SegmentLimitExceeded(
        f"the run asked for more than {limit} continuation segments "
        "(raise ExecutionPolicy(max_segments=...) if that is intended)"
    )


def _finish(
    result: JsonObject,
    recorder: Recorder | None,
    ledger: Any,
    segment: int,
    approved: bool,
    metas: Sequence[NodeMeta],
) -> None:
    if recorder is not None:
        result["p"] = encode_projection(recorder, metas)
    if ledger is not None:
        result["u"] = ledger.usage()
    if segment:
        result["n"] = segment + 1
    if approved:  # a child run tells its parent that an approving gate passed
        result["ap"] = True
