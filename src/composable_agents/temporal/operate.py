"""Operating a server from outside: connect, look runs up, list running ones, load and replay histories.

The ``ca`` verbs (``listen``, ``gates``, ``replay``, ...) call these; they are
the only temporalio-touching half of those verbs, because only ``temporal/``
imports ``temporalio`` (SPEC §16). Each function takes plain values (an
address, a workflow id, a path) and returns plain values or raises
:class:`RunNotFound`, so callers need no temporalio types.

Rejected: returning temporalio handles to the CLI (it would then have to
import temporalio to use them).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from composable_agents.errors import ComposableAgentsError

__all__ = [
    "RunNotFound",
    "connect",
    "core_logs_to_stderr",
    "fetch_history",
    "load_history",
    "query_projection",
    "replay_history",
    "run_is_open",
    "running_workflows",
]


class RunNotFound(ComposableAgentsError, LookupError):
    """No workflow with that id on the server."""


_LOGS_ROUTED: list[bool] = []


def core_logs_to_stderr() -> None:
    """Send the Rust core's log lines (warnings such as a failing workflow task) to stderr, not stdout.

    The SDK's default runtime prints them on stdout, which would corrupt a
    command's output (JSON, a table). Call before the first client, worker
    or replayer of the process; later calls do nothing.
    """
    if _LOGS_ROUTED:
        return
    import logging
    import sys

    from temporalio.runtime import (
        LogForwardingConfig,
        LoggingConfig,
        Runtime,
        TelemetryConfig,
        TelemetryFilter,
    )

    logger = logging.getLogger("temporalio.core")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.WARNING)
        logger.propagate = False
    logging_config = LoggingConfig(
        filter=TelemetryFilter(core_level="WARN", other_level="ERROR"), forwarding=LogForwardingConfig(logger=logger)
    )
    try:
        Runtime.set_default(Runtime(telemetry=TelemetryConfig(logging=logging_config)), error_if_already_set=True)
    except RuntimeError:  # a runtime already exists in this process: keep it
        pass
    _LOGS_ROUTED.append(True)


async def connect(address: str, *, namespace: str = "default") -> Any:
    """A client for ``address`` using our ordered-JSON converter (connection errors propagate)."""
    from temporalio.client import Client

    from composable_agents.temporal.converter import with_ordered_json

    return with_ordered_json(await Client.connect(address, namespace=namespace))


async def run_is_open(client: Any, workflow_id: str) -> bool:
    """True while ``workflow_id`` runs (or continues as new); :class:`RunNotFound` when the server has no such run."""
    from temporalio.client import WorkflowExecutionStatus
    from temporalio.service import RPCError

    try:
        desc = await client.get_workflow_handle(workflow_id).describe()
    except RPCError as exc:
        msg = f"no run {workflow_id!r}: {exc}"
        raise RunNotFound(msg) from exc
    return desc.status in (WorkflowExecutionStatus.RUNNING, WorkflowExecutionStatus.CONTINUED_AS_NEW)


async def query_projection(client: Any, workflow_id: str) -> dict[str, Any] | None:
    """The run's live projection (the ``projection`` query), or ``None`` when the run no longer answers queries."""
    try:
        doc: dict[str, Any] = await client.get_workflow_handle(workflow_id).query("projection")
    except Exception:  # noqa: BLE001 - a closed or starting run may refuse a query; the caller polls again
        return None
    return doc


async def running_workflows(client: Any, types: Iterable[str]) -> list[str]:
    """Ids of the running workflows whose type is one of ``types``."""
    wanted = set(types)
    found = []
    async for wf in client.list_workflows("ExecutionStatus = 'Running'"):
        if wf.workflow_type in wanted:
            found.append(wf.id)
    return sorted(found)


def load_history(path: str | os.PathLike[str]) -> Any:
    """A ``WorkflowHistory`` from a JSON file (the workflow id is the file's stem)."""
    from pathlib import Path

    from temporalio.client import WorkflowHistory

    p = Path(path)
    return WorkflowHistory.from_json(p.stem, p.read_text(encoding="utf-8"))


async def fetch_history(client: Any, workflow_id: str) -> Any:
    """The server's history of ``workflow_id`` (:class:`RunNotFound` when there is none)."""
    from temporalio.service import RPCError

    try:
        return await client.get_workflow_handle(workflow_id).fetch_history()
    except RPCError as exc:
        msg = f"no history for {workflow_id!r}: {exc}"
        raise RunNotFound(msg) from exc


async def replay_history(history: Any, *, modules: Iterable[str] = ()) -> str | None:
    """Replay ``history`` with the code registered now; the failure's text, or ``None`` when it is deterministic."""
    from composable_agents.temporal.worker import build_replayer

    core_logs_to_stderr()
    replayer = build_replayer(modules=modules)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    return None if result.replay_failure is None else str(result.replay_failure)
