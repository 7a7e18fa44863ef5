"""``deploy()``: freeze, check, and return the runnable ``Deployment`` artifact.

The pipeline is a sequence of passes, each returning diagnostics (all of
them): freeze (bind calls, pin pures, close over named sub-flows), validate,
then the policy gates. Strict mode raises :class:`ValidationError` holding
every blocking diagnostic; ``strict=False`` returns a deployment that carries
them and refuses to run; ``mode="dev"`` warns and returns a locally runnable
deployment whose would-block diagnostics sit in ``prod_gap``.

The ``artifact_hash`` covers the frozen flow, the manifest, the pinned pure
hashes, reasoner definitions, the execution policy, the capabilities and
:data:`IR_FORMAT_VERSION` — not the package version, so releases do not move
golden hashes.
"""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar

from composable_agents.authoring.arrow import Arrow, as_node
from composable_agents.authoring.leaves import Reasoner, Tool, ToolDef
from composable_agents.compiler.diagnostics import Diagnostic, blocking, explain
from composable_agents.compiler.freeze import Frozen, freeze
from composable_agents.compiler.validate import validate_frozen
from composable_agents.core.canonical import Json, JsonObject, content_hash
from composable_agents.core.ir import IR_FORMAT_VERSION, Node
from composable_agents.core.kinds import Shape
from composable_agents.core.policy import ExecutionPolicy
from composable_agents.core.pures import DEFAULT_REGISTRY, Registry
from composable_agents.core.shapes import closed_shape, surface_shape
from composable_agents.errors import (
    DevModeError,
    ValidationError,
)

if TYPE_CHECKING:
    from composable_agents.compiler.capabilities import CapabilityManifest
    from composable_agents.execution.interpreter import Catalog, Program
    from composable_agents.execution.result import Result

__all__ = [
    "Deployment",
    "DevModeError",
    "DevModeWarning",
    "LocalRunner",
    "RunOptions",
    "deploy",
    "local_runner",
    "register_local_runner",
    "validate_frozen",
]

I = TypeVar("I")
O = TypeVar("O")

Mode = Literal["strict", "dev"]


class DevModeWarning(UserWarning):
    """Emitted by ``deploy(..., mode="dev")``: the deployment would not pass strict checks."""




@dataclass(frozen=True, slots=True, kw_only=True)
class RunOptions:
    """The keywords of one local run (:meth:`Deployment.dry_run`/``arun``), handed to the runner."""

    reasoners: Mapping[str, Callable[..., Any]] | None = None
    tools: Mapping[str, Callable[..., Any]] | None = None
    gates: Any = None
    llm: Callable[..., Any] | None = None
    mcp_servers: Sequence[Any] | Callable[..., Any] | None = None
    principal: Json = None
    policy: ExecutionPolicy | None = None
    run_id: str = "dry-run"
    seed: int | None = None
    projection: bool = True
    max_segments: int | None = None


class LocalRunner(Protocol):
    """What runs a :class:`Deployment` in this process (filled in by the execution layer).

    The compiler sits below the interpreter, so it names the runner by this
    protocol and :mod:`composable_agents.execution.local` registers the one
    implementation on import (the package face imports it). Rejected
    alternative: importing the interpreter here, which ran the layers upward.
    """

    def catalog(self, deployment: Deployment[Any, Any]) -> Catalog:
        """The catalog the interpreter may reach for ``deployment``."""
        ...

    def program(self, deployment: Deployment[Any, Any]) -> Program:
        """``deployment``'s compiled program."""
        ...

    def dry_run(self, deployment: Deployment[Any, O], value: Any, options: RunOptions) -> Result[O]:
        """Run ``deployment`` locally to completion."""
        ...

    async def arun(self, deployment: Deployment[Any, O], value: Any, options: RunOptions) -> Result[O]:
        """The async twin of :meth:`dry_run`."""
        ...


_RUNNER: list[LocalRunner] = []


def register_local_runner(runner: LocalRunner) -> None:
    """Install the process's local runner (called once by :mod:`composable_agents.execution.local`)."""
    _RUNNER[:] = [runner]


def local_runner() -> LocalRunner:
    """The registered local runner; :class:`RuntimeError` when the execution layer never loaded."""
    if not _RUNNER:
        msg = "no local runner registered: import composable_agents (the package face loads the execution layer)"
        raise RuntimeError(msg)
    return _RUNNER[0]


class _Omitted(tuple):  # type: ignore[type-arg]
    """The default of ``deploy(tools=(), reasoners=())``: "not given", distinct from an explicit empty list."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "()"


_OMITTED: Any = _Omitted()


def _tool_defs(
    tools: Iterable[Tool[Any, Any] | ToolDef], snapshot: Any, registry: Registry
) -> list[ToolDef] | None:
    """The tools that exist: the given ones (all registered ``@tool``s when omitted) plus the snapshot's."""
    if tools is _OMITTED and snapshot is None:
        return None
    defs: list[ToolDef] = list(registry.tools.values()) if tools is _OMITTED else []
    items: list[object] = list(tools)
    for t in items:
        if isinstance(t, Tool):
            defs.append(t.definition)
        elif isinstance(t, ToolDef):
            defs.append(t)
        else:
            msg = f"deploy(tools=...) takes @tool functions or ToolDefs, got {t!r}"
            raise TypeError(msg)
    if snapshot is not None:
        listed = snapshot.tools() if hasattr(snapshot, "tools") else snapshot
        if isinstance(listed, Mapping):
            listed = listed.values()
        for t in listed:
            defs.append(t.definition if isinstance(t, Tool) else t)
    if tools is _OMITTED:
        # Snapshot entries win over registry tools with the same key.
        return list({d.key: d for d in defs}.values())
    return defs


class Deployment(Generic[I, O]):
    """A frozen, checked flow: the unit that runs locally and on Temporal."""

    def __init__(
        self,
        *,
        flow: Arrow[I, O] | Node,
        frozen: Frozen,
        diagnostics: Sequence[Diagnostic],
        mode: Mode,
        strict: bool,
        policy: ExecutionPolicy,
        capabilities: JsonObject | None,
        registry: Registry,
        refreeze: Callable[[], Deployment[I, O]] | None = None,
        manifest: CapabilityManifest | None = None,
        freeze_timing: str = "deploy_time",
    ) -> None:
        self.source = flow
        self.frozen = frozen
        self.diagnostics: tuple[Diagnostic, ...] = tuple(diagnostics)
        self.mode: Mode = mode
        self.strict = strict
        self.policy = policy
        self.capabilities_json: JsonObject | None = capabilities
        self.registry = registry
        self._refreeze = refreeze
        self.capability_manifest: CapabilityManifest | None = manifest
        self.freeze_timing = freeze_timing
        self.in_type: object = flow.in_type if isinstance(flow, Arrow) else Any
        self.out_type: object = flow.out_type if isinstance(flow, Arrow) else Any
        self.name: str | None = flow.ref if isinstance(flow, Arrow) else None
        self.flow_json: JsonObject = frozen.node.to_json()
        self.manifest_json: JsonObject = frozen.manifest_json()
        self.artifact_hash: str = content_hash(
            {
                "format": IR_FORMAT_VERSION,
                "flow": self.flow_json,
                "manifest": self.manifest_json,
                "policy": policy.to_json(),
                "capabilities": capabilities,
            },
            checked=True,
        )
        self._program: Program | None = None

    # -- facts ----------------------------------------------------------------

    @property
    def surface_shape(self) -> Shape:
        """The frozen flow's surface shape."""
        return surface_shape(self.frozen.node)

    @property
    def closed_shape(self) -> Shape:
        """The frozen flow's closed shape (subs charged at their contracts)."""
        return closed_shape(self.frozen.node)

    @property
    def blocking(self) -> tuple[Diagnostic, ...]:
        """Diagnostics that block production use."""
        return tuple(blocking(self.diagnostics))

    @property
    def prod_gap(self) -> tuple[Diagnostic, ...]:
        """In dev mode: what a strict deploy would block (empty otherwise)."""
        return self.blocking if self.mode == "dev" else ()

    def prod_gap_summary(self) -> str:
        """``prod_gap`` grouped by code, one line per code, for people."""
        gap = self.prod_gap
        if not gap:
            return "No production gap: a strict deploy would pass."
        groups: dict[str, list[Diagnostic]] = {}
        for d in gap:
            groups.setdefault(d.code, []).append(d)
        lines = [f"A strict deploy would block on {len(gap)} diagnostic(s):"]
        for code in sorted(groups):
            items = groups[code]
            where = ", ".join(d.node_id for d in items[:5]) + (", ..." if len(items) > 5 else "")
            lines.append(f"- {code} x{len(items)} at {where}: {items[0].message}")
            if items[0].hint:
                lines.append(f"    fix: {items[0].hint}")
        return "\n".join(lines)

    def explain(self) -> str:
        """Every diagnostic rendered with ``fix:`` lines."""
        return explain(self.diagnostics)

    def refresh(self) -> Deployment[I, O]:
        """Re-freeze against the current tool definitions (``freeze_timing="per_run"``)."""
        if self._refreeze is None:
            msg = "refresh() needs deploy(..., freeze_timing='per_run')"
            raise ValueError(msg)
        return self._refreeze()

    # -- durable execution (Temporal) -------------------------------------------

    def _check_deployable(self, verb: str) -> None:
        """Refuse ``run``/``start`` before any server is contacted."""
        if self.mode == "dev":
            msg = (
                f"{verb}() refused: this is a dev-mode deployment (deploy(..., mode='dev')), for local "
                "dry_run/arun only; redeploy with mode='strict' to run on Temporal"
            )
            if self.blocking:
                msg += ":\n" + self.prod_gap_summary()
            raise DevModeError(msg)
        if self.blocking:
            msg = f"{verb}() refused: this deployment has blocking diagnostics:\n" + explain(self.blocking)
            raise ValidationError(self.blocking, msg)

    def run(self, client: Any, *, session_id: str | None = None, input: Any = None, **kwargs: Any) -> Awaitable[Result[O]]:
        """Run durably on Temporal and await the :class:`Result` (``await deployment.run(client, ...)``).

        Dev-mode and blocked deployments raise here, before any server is contacted.
        """
        self._check_deployable("run")
        client_mod = _temporal_client()
        return client_mod.run_deployment(self, client, session_id=session_id, input=input, **kwargs)  # type: ignore[no-any-return]

    def start(self, client: Any, *, session_id: str | None = None, input: Any = None, **kwargs: Any) -> Awaitable[Any]:
        """Start durably on Temporal without waiting; returns the workflow handle (awaitable)."""
        self._check_deployable("start")
        client_mod = _temporal_client()
        return client_mod.start_deployment(self, client, session_id=session_id, input=input, **kwargs)  # type: ignore[no-any-return]

    def _check_runnable(self) -> None:
        """Refuse to run a strict deployment that has blocking diagnostics."""
        if self.mode == "strict" and self.blocking:
            msg = "this deployment has blocking diagnostics and refuses to run:\n" + explain(self.blocking)
            raise ValidationError(self.blocking, msg)

    def _encode_input(self, value: Any) -> Json:
        """The run input as JSON, converted from the flow's declared input type."""
        from composable_agents.core.schema import is_any, to_json_value

        if is_any(self.in_type):
            return value  # type: ignore[no-any-return,unused-ignore]
        return to_json_value(value, self.in_type)

    # -- local execution (the runner registered by composable_agents.execution.local) -------------

    def catalog(self) -> Catalog:
        """What the interpreter may reach for this deployment."""
        return local_runner().catalog(self)

    @property
    def program(self) -> Program:
        """The compiled program (prepared once per deployment)."""
        if self._program is None:
            self._program = local_runner().program(self)
        return self._program

    def dry_run(
        self,
        value: I,
        *,
        reasoners: Mapping[str, Callable[..., Any]] | None = None,
        tools: Mapping[str, Callable[..., Any]] | None = None,
        gates: Any = None,
        llm: Callable[..., Any] | None = None,
        mcp_servers: Sequence[Any] | Callable[..., Any] | None = None,
        principal: Json = None,
        policy: ExecutionPolicy | None = None,
        run_id: str = "dry-run",
        seed: int | None = None,
        projection: bool = True,
        max_segments: int | None = None,
    ) -> Result[O]:
        """Run locally with in-memory effects on a virtual clock.

        ``reasoners``/``tools`` fake reasoners and tools; ``gates`` answers human
        gates (a responder ``fn(gate_view) -> {"approved", "reason", "by"}`` or a
        constant decision; with none a reached gate times out); ``llm`` (an
        ``LLM`` such as ``composable_agents.models.router()``) answers every
        reasoner without a fake in ``reasoners``; ``mcp_servers`` (``McpServer``
        values, or a ready ``mcp_call``) serves every MCP tool without a fake in
        ``tools`` from the live servers; a final value
        ``{"__continue__": x}`` built by the flow's own ``std.continue_with``
        step starts a new segment with input ``x`` (at most ``max_segments``,
        default ``policy.max_segments``), carrying ``maxCalls``/budget usage;
        the same record from a tool, reasoner or plan is ordinary data.
        """
        return local_runner().dry_run(
            self,
            value,
            RunOptions(
                reasoners=reasoners,
                tools=tools,
                gates=gates,
                llm=llm,
                mcp_servers=mcp_servers,
                principal=principal,
                policy=policy,
                run_id=run_id,
                seed=seed,
                projection=projection,
                max_segments=max_segments,
            ),
        )

    async def arun(
        self,
        value: I,
        *,
        reasoners: Mapping[str, Callable[..., Any]] | None = None,
        tools: Mapping[str, Callable[..., Any]] | None = None,
        gates: Any = None,
        llm: Callable[..., Any] | None = None,
        mcp_servers: Sequence[Any] | Callable[..., Any] | None = None,
        principal: Json = None,
        policy: ExecutionPolicy | None = None,
        run_id: str = "run",
        seed: int | None = None,
        projection: bool = True,
        max_segments: int | None = None,
    ) -> Result[O]:
        """The async twin of :meth:`dry_run` (sync tool bodies run in worker threads)."""
        return await local_runner().arun(
            self,
            value,
            RunOptions(
                reasoners=reasoners,
                tools=tools,
                gates=gates,
                llm=llm,
                mcp_servers=mcp_servers,
                principal=principal,
                policy=policy,
                run_id=run_id,
                seed=seed,
                projection=projection,
                max_segments=max_segments,
            ),
        )

    def __repr__(self) -> str:
        return f"<Deployment {self.name or self.artifact_hash[:19]} {self.surface_shape} mode={self.mode}>"


def _temporal_client() -> Any:
    """The Temporal client helpers (``composable_agents.temporal.client``), imported lazily."""
    import importlib
    import importlib.util

    if importlib.util.find_spec("temporalio") is None:
        msg = (
            "running a deployment on Temporal needs the temporal extra: "
            "pip install 'composable-agents[temporal]'"
        )
        raise ImportError(msg)
    # seam: Deployment.run/start reach the durable layer (temporal sits above the compiler)
    return importlib.import_module("composable_agents.temporal.client")


def deploy(
    flow: Arrow[I, O] | Node,
    snapshot: Any = None,
    *,
    tools: Iterable[Tool[Any, Any] | ToolDef] = _OMITTED,
    reasoners: Iterable[Reasoner[Any, Any]] = _OMITTED,
    capabilities: Any = None,
    mode: Mode = "strict",
    strict: bool = True,
    freeze_timing: Literal["deploy_time", "per_run"] = "deploy_time",
    policy: ExecutionPolicy | None = None,
    registry: Registry | None = None,
) -> Deployment[I, O]:
    """Freeze and check ``flow``; return its :class:`Deployment`.

    ``tools``/``snapshot`` say which tools exist (omitted: every registered
    ``@tool``); ``reasoners`` likewise. ``mode="strict"`` with ``strict=True``
    raises :class:`ValidationError` listing every blocking diagnostic.
    """
    if mode not in ("strict", "dev"):
        msg = f"`mode` must be 'strict' or 'dev', got {mode!r}"
        raise ValueError(msg)
    if freeze_timing not in ("deploy_time", "per_run"):
        msg = f"`freeze_timing` must be 'deploy_time' or 'per_run', got {freeze_timing!r}"
        raise ValueError(msg)
    reg = registry or DEFAULT_REGISTRY
    node = as_node(flow, what="deploy(flow)")
    tool_defs = _tool_defs(tools, snapshot, reg)
    reasoner_list = None if reasoners is _OMITTED else list(reasoners)
    from composable_agents.compiler import passes
    from composable_agents.compiler.capabilities import as_manifest

    manifest = as_manifest(capabilities)
    frozen = freeze(node, tools=tool_defs, reasoners=reasoner_list, registry=reg, capabilities=manifest)
    diagnostics = passes.run_all(frozen, capabilities=manifest, registry=reg)
    caps_json = manifest.to_json() if manifest is not None else None
    pol = policy or ExecutionPolicy()

    def again() -> Deployment[I, O]:
        return deploy(
            flow,
            snapshot,
            tools=tools,
            reasoners=reasoners,
            capabilities=capabilities,
            mode=mode,
            strict=strict,
            freeze_timing=freeze_timing,
            policy=policy,
            registry=registry,
        )

    block = blocking(diagnostics)
    if block and mode == "strict" and strict:
        raise ValidationError(block)
    if mode == "dev":
        gap = (
            f"a strict deploy would block on {len(block)} diagnostic(s); see deployment.prod_gap_summary()"
            if block
            else "a strict deploy would pass"
        )
        warnings.warn(
            f"dev-mode deployment (local runs only; run()/start() refuse it): {gap}",
            DevModeWarning,
            stacklevel=2,
        )
    return Deployment(
        flow=flow,
        frozen=frozen,
        diagnostics=diagnostics,
        mode=mode,
        strict=strict,
        policy=pol,
        capabilities=caps_json,
        registry=reg,
        refreeze=again if freeze_timing == "per_run" else None,
        manifest=manifest,
        freeze_timing=freeze_timing,
    )
