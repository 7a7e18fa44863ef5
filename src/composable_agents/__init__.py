"""composable-agents: typed-first, composable, durable LLM agent dataflows.

Users write ``Arrow[I, O]`` values composed with ``>>``, ``&`` and ``|`` (or
the ``@flow`` sugar, or the combinator kernel); everything compiles to one
frozen, content-hashed IR; ``deploy()`` checks it before anything runs; the
same deterministic interpreter runs it locally and durably on Temporal.

The pure core imports no optional dependency; ``HAVE_TEMPORAL`` says whether
the Temporal layer can load.
"""

from __future__ import annotations

import importlib.util as _importlib_util

# Submodules whose names collide with public functions (``deploy``) are
# imported first, so a later ``import composable_agents.deploy`` finds them in
# ``sys.modules`` and never rebinds the package attribute to the module.
from composable_agents import deploy as _deploy_module  # noqa: F401
from composable_agents import freeze as _freeze_module  # noqa: F401
from composable_agents import session as _session_module  # noqa: F401
from composable_agents import validate as _validate_module  # noqa: F401
from composable_agents.agents.agent import Agent
from composable_agents.agents.plans import extract_plan, generalize_trace_to_plan, promote_plan
from composable_agents.agents.sessions import emit, loop, recv, scan, session
from composable_agents.authoring.adapters import any_edges, as_type, expect
from composable_agents.authoring.arrow import Arrow, Branching, Dataflow, Feedback, Pipeline, Staged
from composable_agents.authoring.derived import (
    hedge,
    human_gate,
    map_n,
    map_reduce,
    quorum,
    race,
    review,
    vote,
)
from composable_agents.authoring.dotctx import reasoner_from_ctx
from composable_agents.authoring.flow import cond, flow, reschedule, switch, switch_on
from composable_agents.authoring.kernel import (
    alt,
    app,
    arr,
    call,
    each,
    fanout,
    ident,
    iter_up_to,
    mcp,
    native,
    par,
    seq,
    stage,
    sub,
)
from composable_agents.authoring.leaves import Reasoner, pure, think, tool
from composable_agents.compiler.capabilities import CapabilityManifest
from composable_agents.compiler.deploy import Deployment, deploy
from composable_agents.compiler.diagnostics import Diagnostic, explain, set_source_capture
from composable_agents.compiler.freeze import freeze
from composable_agents.compiler.snapshot import snapshot_from_listings
from composable_agents.compiler.validate import validate
from composable_agents.core.ir import Ann, ContextPolicy, Contract
from composable_agents.core.kinds import ContextScope, Effect, Idempotency, Shape
from composable_agents.core.policy import AgentConfig, ExecutionPolicy
from composable_agents.core.pures import register_pure
from composable_agents.execution import local as _local_runner  # noqa: F401  (registers the runner Deployment uses)
from composable_agents.execution.result import Result
from composable_agents.execution.sessions import SessionEvent

HAVE_TEMPORAL: bool = _importlib_util.find_spec("temporalio") is not None
"""Whether ``temporalio`` is importable (the ``temporal`` extra is installed)."""

__version__ = "0.1.0"

__all__ = [
    "HAVE_TEMPORAL",
    "Agent",
    "AgentConfig",
    "Ann",
    "Arrow",
    "Branching",
    "CapabilityManifest",
    "ContextPolicy",
    "ContextScope",
    "Contract",
    "Dataflow",
    "Deployment",
    "Diagnostic",
    "Effect",
    "ExecutionPolicy",
    "Feedback",
    "Idempotency",
    "Pipeline",
    "Reasoner",
    "Result",
    "SessionEvent",
    "Shape",
    "Staged",
    "alt",
    "any_edges",
    "app",
    "arr",
    "as_type",
    "call",
    "cond",
    "deploy",
    "each",
    "emit",
    "expect",
    "explain",
    "extract_plan",
    "fanout",
    "flow",
    "freeze",
    "generalize_trace_to_plan",
    "hedge",
    "human_gate",
    "ident",
    "iter_up_to",
    "loop",
    "map_n",
    "map_reduce",
    "mcp",
    "native",
    "par",
    "promote_plan",
    "pure",
    "quorum",
    "race",
    "reasoner_from_ctx",
    "recv",
    "register_pure",
    "reschedule",
    "review",
    "scan",
    "seq",
    "session",
    "set_source_capture",
    "snapshot_from_listings",
    "stage",
    "sub",
    "switch",
    "switch_on",
    "think",
    "tool",
    "validate",
    "vote",
]
