"""Client helpers: run a deployment durably and get a ``Result[O]`` back.

``Deployment.run(client, session_id=..., input=...)`` and ``Deployment.start``
delegate here (:func:`run_deployment`, :func:`start_deployment`);
:func:`run_flow` / :func:`start_flow` are the same for a deployment or an
arrow (deployed strictly on the fly).

The workflow id is the ``session_id`` (a fresh one when omitted); the
artifact rides in the input (zlib-compressed when large) unless
``hosted=True`` says the worker hosts the deployment, in which case only its
``artifact_hash`` is sent. The result's projection is rebuilt against the
client's own prepared program of the same artifact.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from composable_agents.core.canonical import Json
from composable_agents.errors import ValidationError
from composable_agents.execution.result import Result
from composable_agents.temporal.artifact import MAX_INLINE_ARTIFACT_BYTES, encode_artifact
from composable_agents.temporal.converter import with_ordered_json
from composable_agents.temporal.env import (
    AGENT_WORKFLOW,
    FLOW_WORKFLOW,
    decode_projection,
)

if TYPE_CHECKING:
    from temporalio.client import Client, WorkflowHandle

    from composable_agents.compiler.deploy import Deployment
    from composable_agents.execution.projection import NodeMeta

__all__ = [
    "FlowHandle",
    "flow_input",
    "is_agent_deployment",
    "run_deployment",
    "run_flow",
    "start_deployment",
    "start_flow",
]

O = TypeVar("O")


def _require_runnable(deployment: Deployment[Any, O]) -> None:
    check = getattr(deployment, "_check_deployable", None)
    if check is not None:
        check("run")
        return
    if deployment.mode == "dev":
        msg = (
            "this deployment is in dev mode: it runs locally (dry_run/arun) but never on a server; "
            "deploy it with mode='strict' to run it durably.\n" + deployment.prod_gap_summary()
        )
        raise ValidationError(deployment.prod_gap, msg)
    deployment._check_runnable()


def is_agent_deployment(deployment: Deployment[Any, Any]) -> bool:
    """True when the deployment's root is an ``app`` loop (it runs as an ``AgentWorkflow``)."""
    flow = deployment.flow_json
    return flow.get("op") == "app"


def flow_input(
    deployment: Deployment[Any, Any],
    value: Any,
    *,
    principal: Json = None,
    hosted: bool = False,
    projection: bool = True,
    max_inline_bytes: int = MAX_INLINE_ARTIFACT_BYTES,
) -> dict[str, Json]:
    """The ``FlowWorkflow`` input for running ``deployment`` on ``value``."""
    payload: dict[str, Json] = dict(encode_artifact(deployment, hosted=hosted, max_inline_bytes=max_inline_bytes))
    payload["v"] = deployment._encode_input(value)
    if principal is not None:
        payload["pr"] = principal
    if not projection:
        payload["np"] = True
    if deployment.name:
        payload["nm"] = deployment.name  # read back by trace ingest (temporal/runs.py); the workflow ignores it
    return payload


class FlowHandle(Generic[O]):
    """A started durable run: ``await handle.result()`` gives its ``Result[O]``."""

    def __init__(self, deployment: Deployment[Any, O], handle: WorkflowHandle[Any, Any]) -> None:
        self.deployment = deployment
        self.handle = handle

    @property
    def id(self) -> str:
        """The workflow id (the session id)."""
        return self.handle.id

    async def result(self) -> Result[O]:
        """Wait for the run to finish; failures become ``Result(status="failed")``."""
        from temporalio.client import WorkflowFailureError

        try:
            out = await self.handle.result()
        except WorkflowFailureError as exc:
            return failed_result(exc.cause, self.deployment.program.metas, self.handle.id)
        return _ok_result(self.deployment, out, self.handle.id)

    async def projection(self) -> Any:
        """The live projection (a workflow query)."""
        return await self.handle.query("projection")

    async def open_gates(self) -> list[str]:
        """Activation ids of the human gates waiting for a decision (a workflow query)."""
        gates: list[str] = await self.handle.query("openGates")
        return gates

    async def submit_human(
        self, activation: str, *, approved: bool, reason: str | None = None, by: str | None = None
    ) -> None:
        """Decide the human gate at ``activation`` (the ``submitHuman`` signal)."""
        decision: dict[str, Json] = {"activation": activation, "approved": approved, "reason": reason, "by": by}
        await self.handle.signal("submitHuman", decision)

    async def cancel(self) -> None:
        """Request cancellation of the run."""
        await self.handle.cancel()


def failed_result(cause: BaseException | None, metas: Sequence[NodeMeta], run_id: str) -> Result[Any]:
    """The ``Result(status="failed")`` of a run whose failure is ``cause`` (the workflow's error).

    A failure the workflow raised carries ``{"detail", "p"?}`` (the error record
    and the projection so far); any other one gives its type and message.
    """
    from temporalio.exceptions import ApplicationError

    detail: dict[str, Json] = {"error": type(cause).__name__, "message": str(cause)}
    proj = None
    if isinstance(cause, ApplicationError):
        if cause.details and isinstance(cause.details[0], Mapping):
            detail = dict(cause.details[0].get("detail") or detail)
            proj = cause.details[0].get("p")
        elif cause.type:
            detail["error"] = cause.type
    projection = decode_projection(proj, metas)
    return Result(
        status="failed",
        detail=detail,
        projection=projection,
        cost=projection.total_cost,
        run_id=run_id,
        error=cause,
    )


def _extra(out: Mapping[str, Any]) -> dict[str, Any]:
    extra: dict[str, Any] = {"segments": int(out.get("n", 1))}
    if out.get("u") is not None:
        extra["usage"] = out["u"]
    return extra


def _ok_result(deployment: Deployment[Any, O], out: Mapping[str, Any], run_id: str) -> Result[O]:
    from composable_agents.core.schema import from_json_value, is_any

    value = out.get("v")
    projection = decode_projection(out.get("p"), deployment.program.metas)
    decoded = None
    if out.get("s", "ok") == "ok" and not is_any(deployment.out_type):
        decoded = from_json_value(value, deployment.out_type)
    return Result(
        status=out.get("s", "ok"),
        raw_value=value,
        detail=out.get("d"),
        projection=projection,
        cost=projection.total_cost,
        run_id=run_id,
        decoded=decoded if out.get("s", "ok") == "ok" else None,
        **_extra(out),
    )


async def start_deployment(
    deployment: Deployment[Any, O],
    client: Client,
    *,
    session_id: str | None = None,
    input: Any = None,
    principal: Json = None,
    task_queue: str | None = None,
    hosted: bool = False,
    projection: bool = True,
    execution_timeout_s: float | None = None,
    max_inline_bytes: int = MAX_INLINE_ARTIFACT_BYTES,
    agent_config: Any = None,
    heartbeat_s: float | None = None,
    **start_kwargs: Any,
) -> FlowHandle[O]:
    """Start ``deployment`` on ``input`` as a ``FlowWorkflow``; returns a :class:`FlowHandle`.

    A deployment whose root is an ``app`` runs as an ``AgentWorkflow`` that
    continues as new every ``agent_config.continue_as_new_after`` rounds
    (``AgentConfig()``'s default when omitted; ``0`` never continues). The
    setting also reaches agents this run starts as child workflows (``sub``).

    ``heartbeat_s``: tool calls whose timeout is longer get this heartbeat
    timeout, and the worker heartbeats while they run, so a tool attempt lost
    with a dead worker is retried after ``heartbeat_s`` instead of its whole
    ``start_to_close`` timeout (child runs inherit it).

    Raises before contacting the server for dev-mode or blocked deployments
    and for artifacts over the inline limit (unless ``hosted=True``).
    """
    _require_runnable(deployment)
    payload = flow_input(
        deployment,
        input,
        principal=principal,
        hosted=hosted,
        projection=projection,
        max_inline_bytes=max_inline_bytes,
    )
    if agent_config is not None:
        payload["cn"] = int(agent_config.continue_as_new_after)
    if heartbeat_s:
        payload["hb"] = float(heartbeat_s)
    kind = AGENT_WORKFLOW if is_agent_deployment(deployment) else FLOW_WORKFLOW
    workflow_id = session_id or f"{deployment.name or 'flow'}-{uuid.uuid4().hex}"
    if execution_timeout_s is not None:
        start_kwargs["execution_timeout"] = timedelta(seconds=execution_timeout_s)
    handle = await with_ordered_json(client).start_workflow(
        kind,
        payload,
        id=workflow_id,
        task_queue=task_queue or deployment.policy.task_queue,
        **start_kwargs,
    )
    return FlowHandle(deployment, handle)


async def run_deployment(
    deployment: Deployment[Any, O],
    client: Client,
    *,
    session_id: str | None = None,
    input: Any = None,
    **kwargs: Any,
) -> Result[O]:
    """Run ``deployment`` durably and wait: the ``Result[O]`` of the run (see :func:`start_deployment`)."""
    handle = await start_deployment(deployment, client, session_id=session_id, input=input, **kwargs)
    return await handle.result()


def _as_deployment(flow: Any) -> Deployment[Any, Any]:
    from composable_agents.compiler.deploy import Deployment, deploy

    if isinstance(flow, Deployment):
        return flow
    return deploy(flow)


async def start_flow(client: Client, flow: Any, input: Any = None, **kwargs: Any) -> FlowHandle[Any]:
    """Start a deployment (or an arrow, deployed strictly first) durably."""
    return await start_deployment(_as_deployment(flow), client, input=input, **kwargs)


async def run_flow(client: Client, flow: Any, input: Any = None, **kwargs: Any) -> Result[Any]:
    """Run a deployment (or an arrow, deployed strictly first) durably and wait for its ``Result``."""
    return await run_deployment(_as_deployment(flow), client, input=input, **kwargs)
