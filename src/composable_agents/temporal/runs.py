"""Read finished durable runs back out of Temporal: result, projection, trace header.

The trace store and the OpenTelemetry exporter are fed out of band: a
workflow never writes its projection anywhere (a replay would write again,
and IO in a workflow is nondeterministic). Instead, once a run has closed,
:func:`fetch_run` reads its start event (the artifact rides in the input, so
the projection's node refs can be resolved; temporalio's
``TracingInterceptor`` header, when present, gives the client's span) and its
result or failure, and rebuilds the ``Result`` a client would have got.
:func:`closed_runs` lists runs that closed since a moment, for followers.

Rejected alternative: a workflow-side "export" activity at the end of each
run. It adds history events and an activity per run, fails runs when the
store is down, and still misses runs that failed before reaching it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from composable_agents.core.pures import DEFAULT_REGISTRY, Registry
from composable_agents.errors import ComposableAgentsError
from composable_agents.execution.result import Result
from composable_agents.temporal.artifact import load_artifact
from composable_agents.temporal.client import failed_result
from composable_agents.temporal.env import AGENT_WORKFLOW, FLOW_WORKFLOW, decode_projection

if TYPE_CHECKING:
    from temporalio.client import Client

    from composable_agents.compiler.deploy import Deployment

__all__ = ["ClosedRun", "FetchedRun", "RunNotFinished", "closed_runs", "fetch_run"]

TRACER_HEADER: Final = "_tracer-data"
"""The header temporalio's ``TracingInterceptor`` propagates its span context in."""

_CLOSED: Final = "('Completed', 'Failed', 'Canceled', 'Terminated', 'TimedOut')"


class RunNotFinished(ComposableAgentsError, RuntimeError):
    """:func:`fetch_run` was asked for a run that is still running (or continued as new)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchedRun:
    """A closed durable run: its ``Result``, flow name and the trace carrier its client sent (if any)."""

    workflow_id: str
    run_id: str | None
    result: Result[Any]
    flow: str | None
    carrier: dict[str, str] | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ClosedRun:
    """One closed run as a visibility listing gives it."""

    workflow_id: str
    run_id: str | None
    close_time: datetime | None


async def fetch_run(
    client: Client,
    workflow_id: str,
    *,
    run_id: str | None = None,
    deployments: Sequence[Deployment[Any, Any]] = (),
    registry: Registry | None = None,
) -> FetchedRun:
    """Read the closed run ``workflow_id`` (its last run in a continue-as-new chain) into a :class:`FetchedRun`.

    The projection's node refs are resolved against the artifact carried in
    the run's input, compiled with ``registry`` (the process's registered
    pures by default), or against a hosted deployment in ``deployments`` with
    the same hash. Raises :class:`RunNotFinished` for a running workflow.
    """
    from temporalio.api.enums.v1 import EventType
    from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError

    handle = client.get_workflow_handle(workflow_id, run_id=run_id)
    desc = await handle.describe()
    if desc.status in (WorkflowExecutionStatus.RUNNING, WorkflowExecutionStatus.CONTINUED_AS_NEW):
        msg = f"workflow {workflow_id!r} has not finished (status {desc.status.name}); ingest it once it closes"
        raise RunNotFinished(msg)
    history = await handle.fetch_history()
    first = history.events[0]
    if first.event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:  # pragma: no cover - server invariant
        msg = f"the history of {workflow_id!r} does not start with its start event"
        raise RunNotFinished(msg)
    started = first.workflow_execution_started_event_attributes
    if started.workflow_type.name not in (FLOW_WORKFLOW, AGENT_WORKFLOW):
        msg = f"workflow {workflow_id!r} is a {started.workflow_type.name}, not a flow run"
        raise RunNotFinished(msg)
    converter = client.data_converter
    args = await converter.decode(list(started.input.payloads)) if started.input.payloads else []
    payload: Mapping[str, Any] = args[0] if args and isinstance(args[0], Mapping) else {}
    carrier: dict[str, str] | None = None
    header = started.header.fields.get(TRACER_HEADER)
    if header is not None:
        decoded = converter.payload_converter.from_payloads([header])
        if decoded and isinstance(decoded[0], Mapping):
            carrier = {str(k): str(v) for k, v in decoded[0].items()}
    hosted = {d.artifact_hash: d for d in deployments}
    loaded = load_artifact(payload, registry=registry or DEFAULT_REGISTRY, hosted=hosted)
    metas = loaded.program.metas
    named = payload.get("nm")
    flow = named if isinstance(named, str) else (loaded.deployment.name if loaded.deployment is not None else None)
    flow = flow or loaded.program.node.name
    try:
        out = await handle.result(follow_runs=False)
    except WorkflowFailureError as exc:
        result: Result[Any] = failed_result(exc.cause, metas, workflow_id)
    else:
        projection = decode_projection(out.get("p"), metas)
        result = Result(
            status=out.get("s", "ok"), raw_value=out.get("v"), detail=out.get("d"), projection=projection,
            cost=projection.total_cost, run_id=workflow_id, usage=out.get("u"), segments=int(out.get("n", 1)),
        )
    return FetchedRun(workflow_id=workflow_id, run_id=desc.run_id, result=result, flow=flow, carrier=carrier)


async def closed_runs(client: Client, *, since: datetime | None = None, limit: int | None = None) -> list[ClosedRun]:
    """Flow and agent runs that closed at or after ``since`` (oldest first), from the visibility store."""
    query = f"WorkflowType IN ('{FLOW_WORKFLOW}', '{AGENT_WORKFLOW}') AND ExecutionStatus IN {_CLOSED}"
    if since is not None:
        query += f" AND CloseTime >= '{since.isoformat()}'"
    out: list[ClosedRun] = []
    async for item in client.list_workflows(query, limit=limit):
        out.append(ClosedRun(workflow_id=item.id, run_id=item.run_id, close_time=item.close_time))
    out.sort(key=lambda r: (r.close_time is None, r.close_time or datetime.min, r.workflow_id))
    return out
