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
from typing import TYPE_CHECKING, Any, Final, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

from composable_agents.core.canonical import Json, JsonObject
from composable_agents.core.pures import DEFAULT_REGISTRY, Registry
from composable_agents.errors import POLICY_ERRORS, ComposableAgentsError
from composable_agents.execution.artifact import (
    LoadedArtifact,
    load_artifact,
    pack_document,
    pure_hashes,
)
from composable_agents.execution.env import ReasonerCall, Thunk, ToolCall
from composable_agents.execution.interpreter import RunState
from composable_agents.execution.projection import Projection, Recorder

if TYPE_CHECKING:
    from composable_agents.compiler.deploy import Deployment

__all__ = [
    "WorkerContext",
    "TemporalEnv",
    "FlowRun",
    "run_flow",
    "register_context",
    "encode_projection",
    "decode_projection",
    "CALL_TOOL",
    "INVOKE_REASONER",
    "FLOW_WORKFLOW",
    "NON_RETRYABLE_TYPES",
]

T = TypeVar("T")

CALL_TOOL: Final = "callTool"
INVOKE_REASONER: Final = "invokeReasoner"
FLOW_WORKFLOW: Final = "FlowWorkflow"

NON_RETRYABLE_TYPES: Final = tuple(e.__name__ for e in POLICY_ERRORS) + (
    "ToolNotFound",
    "ToolDefinitionMismatch",
    "ReasonerNotFound",
    "MissingLLM",
    "ArtifactNotHosted",
    "ArtifactTooLarge",
    "MissingFakeError",
)
"""Error types an activity never retries (policy verdicts and configuration faults)."""


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


def encode_projection(recorder: Recorder) -> JsonObject:
    """A compact projection: ``[meta index, acts, in ref, out ref, attrs?]`` rows plus a value store."""
    values: list[Json] = []
    refs: dict[int, int] = {}

    def ref(value: Json) -> int:
        key = id(value)
        found = refs.get(key)
        if found is None or values[found] is not value:
            found = len(values)
            values.append(value)
            refs[key] = found
        return found

    rows: list[Json] = []
    for meta, acts, v_in, v_out, attrs in recorder.events:
        row: list[Json] = [meta.index, list(acts), ref(v_in), ref(v_out)]
        if attrs:
            row.append(dict(attrs))
        rows.append(row)
    out: JsonObject = {"e": rows, "x": values}
    if recorder.dropped:
        out["d"] = recorder.dropped
    return out


def decode_projection(doc: Mapping[str, Any] | None, metas: Sequence[Any]) -> Projection:
    """Rebuild a :class:`Projection` from :func:`encode_projection` output and the program's metas."""
    if not doc:
        return Projection([])
    values = doc.get("x", [])
    raw = [
        (metas[row[0]], tuple(row[1]), values[row[2]], values[row[3]], row[4] if len(row) > 4 else None)
        for row in doc.get("e", [])
    ]
    return Projection(raw, int(doc.get("d", 0)))


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
    detail: JsonObject = {"error": etype, "message": str(exc)}
    for attr in ("node_id", "activation", "step", "path"):
        value = getattr(exc, attr, None)
        if isinstance(value, str):
            detail[attr] = value
    if cause is not None and cause is not exc:
        detail["cause"] = cause.message
    return etype, detail


def _as_app_error(exc: BaseException, recorder: Recorder | None = None) -> ApplicationError:
    etype, detail = failure_detail(exc)
    details: JsonObject = {"detail": detail}
    if recorder is not None:
        details["p"] = encode_projection(recorder)
    return ApplicationError(str(exc), details, type=etype, non_retryable=True)


def _is_sdk_internal(exc: BaseException) -> bool:
    # Nondeterminism and sandbox violations must fail the workflow *task* (fix and redeploy).
    name = type(exc).__module__
    return name.startswith("temporalio.") and not isinstance(exc, ApplicationError | _FailureErrors)


try:  # the SDK's failure types that arrive as the cause of a step error
    from temporalio.exceptions import ActivityError, ChildWorkflowError, FailureError

    _FailureErrors: tuple[type[BaseException], ...] = (FailureError, ActivityError, ChildWorkflowError)
except ImportError:  # pragma: no cover
    _FailureErrors = ()


# -- the Env -----------------------------------------------------------------------


class TemporalEnv:
    """The Env of a workflow run: activities, timers and workflow tasks."""

    __slots__ = ("loaded", "policy", "_info")

    def __init__(self, loaded: LoadedArtifact) -> None:
        self.loaded = loaded
        self.policy = loaded.policy
        self._info: Any = None

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
            non_retryable_error_types=list(NON_RETRYABLE_TYPES),
        )
        return await workflow.execute_activity(
            CALL_TOOL,
            req,
            start_to_close_timeout=self._timeout(call.timeout_s),
            retry_policy=retry,
        )

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
        retry = RetryPolicy(
            maximum_attempts=max(1, call.max_attempts),
            non_retryable_error_types=list(NON_RETRYABLE_TYPES),
        )
        return await workflow.execute_activity(
            INVOKE_REASONER,
            req,
            start_to_close_timeout=self._timeout(call.timeout_s),
            retry_policy=retry,
        )

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

    async def race(self, thunks: Sequence[Thunk[T]], *args: Any, **kwargs: Any) -> Any:
        """Settle on success: delegate to the interpreter-side race helper when present."""
        from composable_agents.execution import env as env_module

        helper = getattr(env_module, "race_over", None)
        if helper is None:
            msg = "race is not available in this version of the interpreter"
            raise NotImplementedError(msg)
        return await helper(self, thunks, *args, **kwargs)

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
        **_: Any,
    ) -> Json:
        """Run the named sub-flow ``ref`` as a child ``FlowWorkflow`` carrying its own artifact."""
        doc, digest = self.loaded.child_artifact(ref)
        payload: dict[str, Json] = dict(pack_document(doc))
        payload["h"] = digest
        payload["v"] = value
        payload["np"] = True
        if principal is not None:
            payload["pr"] = principal
        info = workflow.info()
        result = await workflow.execute_child_workflow(
            FLOW_WORKFLOW,
            payload,
            id=f"{info.workflow_id}/{activation}",
            task_queue=info.task_queue,
        )
        return result["v"]  # type: ignore[no-any-return]


# -- the workflow body ----------------------------------------------------------------


class FlowRun:
    """Per-run state the workflow's queries read."""

    __slots__ = ("recorder", "loaded")

    def __init__(self) -> None:
        self.recorder: Recorder | None = None
        self.loaded: LoadedArtifact | None = None

    def projection_json(self) -> JsonObject:
        """The projection so far (events, values, cost by shape, pending gates)."""
        if self.recorder is None:
            return Projection([]).to_json()
        return self.recorder.projection().to_json()


async def run_flow(payload: Mapping[str, Any], run: FlowRun) -> JsonObject:
    """The ``FlowWorkflow`` body: load, verify pins, interpret, finish (or continue as new)."""
    info = workflow.info()
    ctx = context_for(info.task_queue)
    try:
        loaded = load_artifact(payload, registry=ctx.registry, hosted=ctx.hosted, hashes_for=ctx.hashes_for)
    except ComposableAgentsError as exc:
        raise _as_app_error(exc) from None
    run.loaded = loaded
    segment = int(payload.get("seg", 0))
    run_id = info.workflow_id if not segment else f"{info.workflow_id}#{segment}"
    recorder = None if payload.get("np") else Recorder()
    run.recorder = recorder
    state = RunState(
        TemporalEnv(loaded),
        catalog=loaded.program.catalog,
        run_id=run_id,
        principal=payload.get("pr"),
        check=loaded.policy.check_types,
        recorder=recorder,
    )
    try:
        out = await loaded.program.run(payload.get("v"), state)
    except asyncio.CancelledError:
        raise
    except ApplicationError as exc:
        if exc.non_retryable:
            raise
        raise _as_app_error(exc, recorder) from None
    except Exception as exc:
        if _is_sdk_internal(exc):
            raise
        raise _as_app_error(exc, recorder) from None
    if type(out) is dict and len(out) == 1 and "__continue__" in out:
        nxt = dict(payload)
        nxt["v"] = out["__continue__"]
        nxt["seg"] = segment + 1
        workflow.continue_as_new(nxt)
    result: JsonObject = {"v": out}
    if recorder is not None:
        result["p"] = encode_projection(recorder)
    return result
