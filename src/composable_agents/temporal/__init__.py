"""The durable (Temporal) layer in one import: ``from composable_agents.temporal import ...``.

Needs the ``temporal`` extra (``pip install 'composable-agents[temporal]'``);
importing this package without temporalio raises an ``ImportError`` saying so.
"""

from __future__ import annotations

try:
    import temporalio  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    msg = "the Temporal layer needs temporalio: pip install 'composable-agents[temporal]'"
    raise ImportError(msg) from exc

from composable_agents.core.policy import DEFAULT_TASK_QUEUE, AgentConfig, ExecutionPolicy
from composable_agents.temporal.agent_workflow import AgentWorkflow
from composable_agents.temporal.artifact import (
    MAX_INLINE_ARTIFACT_BYTES,
    ArtifactNotHosted,
    ArtifactTooLarge,
)
from composable_agents.temporal.client import (
    FlowHandle,
    flow_input,
    run_deployment,
    run_flow,
    start_deployment,
    start_flow,
)
from composable_agents.temporal.devserver import DevServer, dev_server, find_temporal_binary
from composable_agents.temporal.env import TemporalEnv
from composable_agents.temporal.gates_client import (
    GateNotOpen,
    answer_gate,
    gate_projection,
    list_open_gates,
)
from composable_agents.temporal.serve import serve
from composable_agents.temporal.session_client import (
    TemporalSessionHandle,
    open_temporal_session,
    session_input,
)
from composable_agents.temporal.session_store import SessionStore
from composable_agents.temporal.session_workflow import SessionWorkflow
from composable_agents.temporal.worker import (
    build_replayer,
    build_worker,
    run_worker,
    workflow_runner,
)
from composable_agents.temporal.workflow import FlowWorkflow

__all__ = [
    "DEFAULT_TASK_QUEUE",
    "MAX_INLINE_ARTIFACT_BYTES",
    "AgentConfig",
    "AgentWorkflow",
    "ArtifactNotHosted",
    "ArtifactTooLarge",
    "DevServer",
    "ExecutionPolicy",
    "FlowHandle",
    "FlowWorkflow",
    "GateNotOpen",
    "SessionStore",
    "SessionWorkflow",
    "TemporalEnv",
    "TemporalSessionHandle",
    "answer_gate",
    "build_replayer",
    "build_worker",
    "dev_server",
    "find_temporal_binary",
    "flow_input",
    "gate_projection",
    "list_open_gates",
    "open_temporal_session",
    "run_deployment",
    "run_flow",
    "run_worker",
    "serve",
    "session_input",
    "start_deployment",
    "start_flow",
    "workflow_runner",
]
