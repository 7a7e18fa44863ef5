"""The public surface: exported names are pinned, documented and importable where SPEC §1 says."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys

import composable_agents

EXPORTED = [
    "Agent", "AgentConfig", "Ann", "Arrow", "Branching", "CapabilityManifest", "ContextPolicy",
    "ContextScope", "Contract", "Dataflow", "Deployment", "Diagnostic", "Effect", "ExecutionPolicy",
    "Feedback", "HAVE_TEMPORAL", "Idempotency", "Pipeline", "Reasoner", "Result", "SessionEvent",
    "Shape", "Staged", "alt", "any_edges", "app", "arr", "as_type", "call", "cond", "deploy", "each",
    "emit", "expect", "explain", "extract_plan", "fanout", "flow", "freeze", "generalize_trace_to_plan",
    "hedge", "human_gate", "ident", "iter_up_to", "loop", "map_n", "map_reduce", "mcp", "native", "par",
    "promote_plan", "pure", "quorum", "race", "reasoner_from_ctx", "recv", "register_pure", "reschedule",
    "review", "scan", "seq", "session", "set_source_capture", "snapshot_from_listings", "stage", "sub",
    "switch", "switch_on", "think", "tool", "validate", "vote",
]  # fmt: skip

# SPEC §1 "Documented import paths that must exist".
SPEC_TOP_LEVEL = ["Reasoner", "deploy", "flow", "pure", "think", "tool", "cond", "switch", "switch_on", "each", "reschedule", "seq", "par", "fanout", "alt", "iter_up_to", "stage", "app", "sub", "native", "mcp", "call", "ident", "arr", "reasoner_from_ctx", "race", "hedge", "quorum", "map_n", "map_reduce", "vote", "review", "human_gate", "snapshot_from_listings", "Agent", "scan", "loop", "session", "recv", "emit", "SessionEvent", "Contract", "Shape", "Effect", "Idempotency", "ContextScope", "Ann", "ContextPolicy", "CapabilityManifest", "ExecutionPolicy", "AgentConfig", "Diagnostic", "explain", "HAVE_TEMPORAL", "Arrow", "as_type", "expect", "any_edges"]

SEED_MODULES = ["kinds", "ir", "shapes", "contracts", "purity", "freeze", "validate", "define", "typed", "dsl", "derived", "capabilities", "staged", "projection", "resilience", "dotctx", "agent_loop", "agent", "session", "deploy", "errors", "registry", "execution.interpreter", "execution.harness", "execution.activities", "execution.worker"]


def test_all_is_pinned() -> None:
    assert sorted(composable_agents.__all__) == sorted(EXPORTED)
    assert len(set(composable_agents.__all__)) == len(composable_agents.__all__)


def test_every_spec_name_is_exported() -> None:
    missing = [n for n in SPEC_TOP_LEVEL if n not in composable_agents.__all__ or not hasattr(composable_agents, n)]
    assert missing == []


def test_every_exported_callable_has_a_docstring() -> None:
    undocumented = [
        n
        for n in composable_agents.__all__
        if (inspect.isclass(getattr(composable_agents, n)) or callable(getattr(composable_agents, n)))
        and not (getattr(composable_agents, n).__doc__ or "").strip()
    ]
    assert undocumented == []


def test_seed_modules_exist() -> None:
    for name in SEED_MODULES:
        module = importlib.import_module(f"composable_agents.{name}")
        assert module.__doc__, name


def test_other_documented_paths() -> None:
    from composable_agents.execution.interpreter import InMemoryEnv, interpret
    from composable_agents.execution.worker import build_worker, run_worker
    from composable_agents.registry import DEFAULT_REGISTRY
    from composable_agents.shapes import closed_shape, surface_shape
    from composable_agents.typed import (
        Arrow,
        Branching,
        Dataflow,
        Feedback,
        Pipeline,
        Result,
        Staged,
        as_flow,
        choice,
        each,
        fanout,
        seq,
    )

    assert callable(interpret) and callable(run_worker) and callable(build_worker)
    assert InMemoryEnv and DEFAULT_REGISTRY and surface_shape and closed_shape
    assert issubclass(Pipeline, Dataflow) and issubclass(Dataflow, Branching)
    assert issubclass(Branching, Feedback) and issubclass(Feedback, Staged) and issubclass(Staged, Arrow)
    assert all(callable(f) for f in (as_flow, choice, each, fanout, seq)) and Result


def test_importing_a_colliding_module_keeps_the_function() -> None:
    code = (
        "import composable_agents, composable_agents.deploy, composable_agents.session, "
        "composable_agents.freeze, composable_agents.validate\n"
        "import inspect\n"
        "assert inspect.isfunction(composable_agents.deploy), composable_agents.deploy\n"
        "assert inspect.isfunction(composable_agents.session), composable_agents.session\n"
        "from composable_agents.session import scan\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


def test_pure_core_imports_no_optional_dependency() -> None:
    code = (
        "import sys\n"
        "import composable_agents\n"
        "heavy = [m for m in ('temporalio', 'httpx', 'mcp', 'typer', 'rich', 'anthropic', 'psycopg', "
        "'opentelemetry') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# SPEC §16: where each concept lives now, and the shims that keep the seed paths working.
CANONICAL_HOMES = {
    "agents.agent": ["Agent"],
    "agents.sessions": ["scan", "loop", "session", "recv", "emit", "open_session"],
    "agents.plans": ["extract_plan", "promote_plan", "generalize_trace_to_plan", "agent_trace"],
    "execution.sessions": ["SessionHandle", "SessionEvent", "TurnContext"],
    "execution.agent_loop": ["parse_action", "BudgetGuard"],
    "execution.staged": ["compile_plan", "check_plan", "plan_context", "MAX_PLAN_BYTES", "MAX_PLAN_NODES",
                         "MAX_PLAN_DEPTH", "MAX_PLAN_ROUNDS", "MAX_PLAN_ATTEMPTS", "MAX_PLAN_INT"],
    "execution.interpreter": ["is_continuation"],
    "execution.limits": ["checked_count", "checked_cost"],
    "core.pures": ["check_pins"],
    "execution.resilience": ["with_fallback", "CircuitBreaker"],
    "execution.local": ["LocalRunnerImpl"],
    "authoring.dotctx": ["reasoner_from_ctx"],
    "authoring.reasoner": ["Reasoner", "think"],
    "core.policy": ["ExecutionPolicy", "AgentConfig", "DEFAULT_MAX_SEGMENTS"],
    "core.source": ["capture_source", "set_source_capture"],
    "core.secrets": ["looks_secret", "redact", "redact_text", "find_secret", "secret_key_name", "REDACTED"],
    "core.jsontext": ["loads_strict", "has_lone_surrogate", "not_json", "MAX_NUMBER_DIGITS"],
    "execution.result": ["error_type", "status_of"],
    "errors": ["DuplicateToolError", "InvalidUsage", "SegmentLimitExceeded", "ModelNotConfigured", "ProviderError",
               "ProviderRefusal", "ProviderUnavailable", "ToolDefinitionMismatch", "ToolRejected", "ToolUnavailable"],
    "integrations.models": ["LLM", "router", "Router", "AnthropicProvider", "OpenAIProvider", "ModelNotConfigured",
                            "ProviderError", "ProviderRefusal", "ProviderUnavailable"],
    "execution.llm": ["llm_fake", "check_models"],
    "integrations.mcp": ["McpServer", "McpCaller", "mcp_caller", "mcp_tool", "snapshot_from_servers",
                         "asnapshot_from_servers", "IDEMPOTENCY_META", "PRINCIPAL_META", "Connection",
                         "frozen_listing", "listing_of", "reply_value"],
    "integrations.http": ["http_tool", "HttpToolDef", "METHODS", "retry_after_seconds"],
    "execution.tool_callers": ["register_mcp_caller_factory", "mcp_call_for", "mcp_tool_fakes", "accepted_keywords",
                               "McpCallerFactory"],
    "compiler.capabilities": ["endpoint_host", "host_granted"],
    "temporal.artifact": ["find_tool_definition"],
    "temporal.workflow": ["FlowWorkflow"],
    "temporal.activities": ["FlowActivities"],
    "temporal.worker": ["build_worker", "run_worker"],
    "temporal.devserver": ["DevServer", "dev_server"],
    "temporal.client": ["run_deployment", "start_deployment"],
    "testing": ["check_flow", "check_laws", "replies", "bad_replies", "actions", "plans", "FakeLLM", "FlowCheckFailed"],
    "testing.plugin": ["ca_dev_server", "ca_worker", "fake_llm"],
    "cli.app": ["main", "build_app"],
    "cli.console": ["Console", "CliAbort", "abort", "console", "OK", "FAILED", "USAGE", "DRIFT"],
    "cli.project": ["Entry", "Project", "ProjectConfig", "find_config", "load_project"],
    "cli.selectors": ["SelectorError", "caret", "parse", "select"],
    "cli.ledger": ["drift", "read_ledger", "record"],
    "temporal.operate": ["RunNotFound", "connect", "replay_history", "core_logs_to_stderr"],
    "execution.projection": ["listen_activations", "ActivationListener", "DEFAULT_MAX_BYTES", "DEFAULT_MAX_VALUE_BYTES",
                             "ELIDED_KEY", "value_bytes", "PROJECTION_FORMAT", "error_record"],
    "integrations.otel": ["export_run", "OtelSink", "span_attributes", "span_id_for", "trace_id_for"],
    "integrations.store": ["TraceStore", "ingest", "follow", "RunSink", "RunSummary", "StoreError", "DEFAULT_STORE_URL"],
    "integrations.render": ["render_trace_html", "render_flow_svg", "render_dag_svg", "flow_graph", "DagError",
                            "FlowRenderError"],
    "integrations.runs": ["RunRecord", "RunRecordError", "run_record"],
    "temporal.runs": ["fetch_run", "closed_runs", "FetchedRun", "ClosedRun", "RunNotFinished"],
    "authoring.arrow": ["check_tags"],
}

SHIMS = {
    "models": "integrations.models",
    "agent": "agents.agent",
    "session": "agents.sessions",
    "agent_loop": "execution.agent_loop",
    "staged": "execution.staged",
    "resilience": "execution.resilience",
    "dotctx": "authoring.dotctx",
    "execution.harness": "temporal.workflow",
    "execution.activities": "temporal.activities",
    "execution.worker": "temporal.worker",
}


def test_canonical_homes_export_their_names() -> None:
    for module_name, names in CANONICAL_HOMES.items():
        module = importlib.import_module(f"composable_agents.{module_name}")
        for name in names:
            assert name in module.__all__, (module_name, name)


def test_shims_re_export_the_canonical_objects() -> None:
    for shim_name, home_name in SHIMS.items():
        shim = importlib.import_module(f"composable_agents.{shim_name}")
        home = importlib.import_module(f"composable_agents.{home_name}")
        for name in home.__all__:
            assert getattr(shim, name) is getattr(home, name), (shim_name, name)
        assert set(home.__all__) <= set(shim.__all__), shim_name
