"""Workers: host ``FlowWorkflow`` and the two activities for a task queue.

    await run_worker(
        target_host="localhost:7233",
        tool_urls={"native_tool": "https://my-tool.run.app"},
        mcp_call=my_async_mcp_caller,
        llm=my_async_llm,
        modules=["my_app.tools"],
    )

Tools a worker runs in-process are the ``@tool`` functions registered when
``modules`` (and ``$COMPOSABLE_AGENTS_MODULES`` for :mod:`serve`) are
imported, plus the tools of hosted ``deployments``. At start-up the worker
records the source hash of every registered pure; workflows compare the
artifact's pins with them before the first step.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any

from temporalio import activity
from temporalio.client import Client
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
    Replayer,
    Worker,
)
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from composable_agents.core.policy import DEFAULT_TASK_QUEUE
from composable_agents.core.pures import DEFAULT_REGISTRY, Registry
from composable_agents.execution.llm import check_models
from composable_agents.temporal.activities import FlowActivities
from composable_agents.temporal.agent_workflow import AgentWorkflow
from composable_agents.temporal.converter import with_ordered_json
from composable_agents.temporal.env import WorkerContext, register_context
from composable_agents.temporal.session_workflow import SessionWorkflow
from composable_agents.temporal.workflow import FlowWorkflow

if TYPE_CHECKING:
    from composable_agents.authoring.leaves import ToolDef
    from composable_agents.compiler.deploy import Deployment

__all__ = [
    "PASSTHROUGH_MODULES",
    "WORKFLOWS",
    "HeartbeatInterceptor",
    "build_replayer",
    "build_worker",
    "import_modules",
    "run_worker",
    "workflow_runner",
]

PASSTHROUGH_MODULES: tuple[str, ...] = (
    "composable_agents",
    "beartype",
    "yaml",
    "typing_extensions",
    "jsonschema",
    "referencing",
    "rpds",
    "attrs",
    "httpx",
)
"""Modules the default sandbox passes through (our pure core and its runtime dependencies)."""

WORKFLOWS: tuple[type, ...] = (FlowWorkflow, AgentWorkflow, SessionWorkflow)
"""The workflows every worker (and replayer) hosts."""


class _Heartbeating(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        timeout = activity.info().heartbeat_timeout
        if not timeout:
            return await self.next.execute_activity(input)
        every = max(0.05, timeout.total_seconds() / 3)

        async def beat() -> None:
            while True:
                await asyncio.sleep(every)
                activity.heartbeat()

        beating = asyncio.ensure_future(beat())
        try:
            return await self.next.execute_activity(input)
        finally:
            beating.cancel()


class HeartbeatInterceptor(Interceptor):
    """Heartbeats every third of an activity's heartbeat timeout while it runs (when it has one).

    Tool bodies need not heartbeat themselves: a tool call started with a
    heartbeat timeout (``run(..., heartbeat_s=...)``) is kept alive by its
    worker, so only a dead worker (or a hung event loop) misses heartbeats.
    """

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Heartbeating(next)


def workflow_runner(extra_passthrough: Iterable[str] = ()) -> SandboxedWorkflowRunner:
    """The sandboxed runner with ``composable_agents`` and its dependencies passed through."""
    restrictions = SandboxRestrictions.default.with_passthrough_modules(
        *PASSTHROUGH_MODULES, *extra_passthrough
    )
    return SandboxedWorkflowRunner(restrictions=restrictions)


def import_modules(modules: Iterable[str]) -> list[str]:
    """Import ``modules`` (registering their tools, pures, reasoners); returns their names."""
    names = []
    for name in modules:
        module = importlib.import_module(name)
        names.append(module.__name__)
    return names


def _tool_table(
    registry: Registry, deployments: Sequence[Deployment[Any, Any]], tools: Iterable[Any]
) -> dict[str, ToolDef]:
    table: dict[str, ToolDef] = {k: t for k, t in registry.tools.items() if t.fn is not None}
    for dep in deployments:
        for key, t in dep.frozen.tools.items():
            if t.fn is not None:
                table.setdefault(key, t)
    for t in tools:
        definition = getattr(t, "definition", t)
        table[definition.key] = definition
    return table


def build_worker(
    client: Client,
    *,
    task_queue: str | None = None,
    tool_urls: Mapping[str, str] | None = None,
    mcp_call: Callable[..., Any] | None = None,
    mcp_servers: Sequence[Any] | None = None,
    llm: Callable[..., Any] | None = None,
    capabilities: Mapping[str, Any] | None = None,
    deployments: Iterable[Deployment[Any, Any]] = (),
    modules: Iterable[str] = (),
    tools: Iterable[Any] = (),
    registry: Registry | None = None,
    activity_executor: Executor | None = None,
    passthrough_modules: Iterable[str] = (),
    **worker_kwargs: Any,
) -> Worker:
    """A ``temporalio.worker.Worker`` hosting ``FlowWorkflow``, ``AgentWorkflow``, ``SessionWorkflow`` and the two activities.

    ``task_queue`` defaults to :data:`DEFAULT_TASK_QUEUE` (the one
    ``Deployment.run`` uses). ``deployments`` are hosted: their tools run
    in-process and clients may send only their ``artifact_hash``.
    ``worker_kwargs`` go to ``Worker`` (e.g. ``max_concurrent_activities``).
    Without ``llm=`` reasoners are answered by ``composable_agents.models.router()``
    (configured from the environment); an LLM with a ``check`` (a router)
    refuses, here, hosted reasoners it cannot serve (``ModelNotConfigured``).
    ``mcp_servers=[McpServer(...)]`` serves MCP tools through
    ``mcp_caller(...)`` (one pooled session per server, opened on first use),
    with the ``mcp_servers:`` version pins of ``capabilities`` and of the
    hosted deployments checked on every connect. Those sessions live as long
    as the process (one per worker process); :func:`run_worker` closes them
    when the worker stops, or pass your own ``mcp_call=mcp_caller(...)`` and
    ``await caller.aclose()`` after the worker.
    """
    queue = task_queue or DEFAULT_TASK_QUEUE
    mods = import_modules(modules)
    reg = registry or DEFAULT_REGISTRY
    hosted = list(deployments)
    if mcp_servers is not None:
        mcp_call = _mcp_caller_for(mcp_servers, mcp_call, capabilities=capabilities, deployments=hosted)
    if llm is None:
        from composable_agents.integrations.models.router import router  # seam: worker defaults to models.router()  # noqa: I001

        llm = router()
    check_models(llm, [r for dep in hosted for r in dep.frozen.reasoners.values()])
    context = WorkerContext(registry=reg, hosted={d.artifact_hash: d for d in hosted})
    context.snapshot()
    register_context(context, queue)
    acts = FlowActivities(
        tools=_tool_table(reg, hosted, tools),
        registry=reg,
        deployments=hosted,
        tool_urls=tool_urls,
        mcp_call=mcp_call,
        llm=llm,
        capabilities=capabilities,
        executor=activity_executor,
    )
    worker_kwargs.setdefault("workflow_runner", workflow_runner([*mods, *passthrough_modules]))
    worker_kwargs["interceptors"] = [HeartbeatInterceptor(), *worker_kwargs.get("interceptors", ())]
    return Worker(
        with_ordered_json(client),
        task_queue=queue,
        workflows=list(WORKFLOWS),
        activities=acts.all(),
        **worker_kwargs,
    )


async def run_worker(
    target_host: str = "localhost:7233",
    *,
    namespace: str = "default",
    client: Client | None = None,
    task_queue: str | None = None,
    tool_urls: Mapping[str, str] | None = None,
    mcp_call: Callable[..., Any] | None = None,
    mcp_servers: Sequence[Any] | None = None,
    llm: Callable[..., Any] | None = None,
    capabilities: Mapping[str, Any] | None = None,
    deployments: Iterable[Deployment[Any, Any]] = (),
    modules: Iterable[str] = (),
    **kwargs: Any,
) -> None:
    """Connect to ``target_host`` and run a worker until cancelled (see :func:`build_worker`).

    An MCP caller built from ``mcp_servers=`` is closed (stdio servers stop) when the worker stops.
    """
    if client is None:
        client = await Client.connect(target_host, namespace=namespace)
    hosted = list(deployments)
    owned = None
    if mcp_servers is not None:
        mcp_call = owned = _mcp_caller_for(mcp_servers, mcp_call, capabilities=capabilities, deployments=hosted)
    worker = build_worker(
        client,
        task_queue=task_queue,
        tool_urls=tool_urls,
        mcp_call=mcp_call,
        llm=llm,
        capabilities=capabilities,
        deployments=hosted,
        modules=modules,
        **kwargs,
    )
    try:
        await worker.run()
    finally:
        if owned is not None:
            await owned.aclose()


def _mcp_caller_for(
    servers: Sequence[Any],
    mcp_call: Callable[..., Any] | None,
    *,
    capabilities: Mapping[str, Any] | None = None,
    deployments: Iterable[Deployment[Any, Any]] = (),
) -> Any:
    """``integrations.mcp.mcp_caller(servers)`` with every applicable version pin (all must hold).

    ``mcp_call`` is the caller's own (``mcp_call=``): passing both is a ``ValueError``.

    Pins come from the worker's ``capabilities`` and each hosted deployment's
    manifest; several pins for one server are joined into one constraint.
    """
    if mcp_call is not None:
        msg = "pass mcp_servers= (a built-in caller) or mcp_call= (your own), not both"
        raise ValueError(msg)
    from composable_agents.integrations.mcp import mcp_caller  # seam: worker builds an MCP caller from mcp_servers=  # noqa: I001

    pins: dict[str, list[str]] = {}
    docs: list[Mapping[str, Any]] = [capabilities or {}, *(dep.capabilities_json or {} for dep in deployments)]
    for doc in docs:
        section = doc.get("mcp_servers")
        if isinstance(section, Mapping):
            for server, pin in section.items():
                if isinstance(pin, str) and pin.strip() not in ("", "*"):
                    pins.setdefault(str(server), []).append(pin)
    return mcp_caller(servers, pins={name: ",".join(found) for name, found in pins.items()})


def build_replayer(
    *,
    modules: Iterable[str] = (),
    deployments: Iterable[Deployment[Any, Any]] = (),
    registry: Registry | None = None,
    passthrough_modules: Iterable[str] = (),
    task_queues: Iterable[str] = (DEFAULT_TASK_QUEUE,),
) -> Replayer:
    """A ``Replayer`` for ``FlowWorkflow`` histories, with pure hashes recorded like a worker's.

    The replay context serves ``task_queues`` (the queues the histories ran on) and any other queue.
    """
    mods = import_modules(modules)
    hosted = list(deployments)
    context = WorkerContext(registry=registry or DEFAULT_REGISTRY, hosted={d.artifact_hash: d for d in hosted})
    context.snapshot()
    register_context(context, None)
    for queue in task_queues:
        register_context(context, queue)
    return Replayer(workflows=list(WORKFLOWS), workflow_runner=workflow_runner([*mods, *passthrough_modules]))
