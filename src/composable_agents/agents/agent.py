"""The ``Agent`` facade: a named, typed arrow that lowers to one ``app`` node.

``Agent(name, reasoner=..., tools=[...], subflows=[...], budget=..., max_rounds=...)``
is a uniform capability list: ``@tool`` functions, tool refs and tool keys go to
``app.tools``; other agents and named flows go to ``app.subflows``. A
sub-agent is opaque: its own tools never pass up to its parent (attenuation),
so the parent's controller can reach them only by running the sub-agent.

Construction fails early on a capability collision (one key for two different
things) and on an unnamed flow (a sub-flow must be named to be referenced).
``with_tools``/``without``/``replace`` return new agents; names are affine, so
a changed agent gets a derived, unregistered name unless you pass ``name=``.

Running: ``.run()``/``.arun()`` deploy and run locally with fakes
(``reasoners={name: fn}``; the controller is ``agent.controller``) or a real
caller (``llm=fn(reasoner, value)``); ``.deploy()`` returns the
:class:`~composable_agents.compiler.deploy.Deployment`; ``.check()`` lists
diagnostics without raising; ``mode="dev"`` deploys with a prod gap you read
with :meth:`Agent.prod_gap_summary`; ``.open(session=...)`` opens a session.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from typing_extensions import TypeVar

from composable_agents.agents.plans import agent_trace
from composable_agents.authoring.arrow import Arrow, check_tags
from composable_agents.authoring.kernel import ToolRef
from composable_agents.authoring.leaves import Reasoner, Tool, ToolDef
from composable_agents.core.canonical import Json, JsonObject
from composable_agents.core.codec import budget_figure, walk
from composable_agents.core.ir import (
    RESERVED_TOOLS,
    App,
    CallStep,
    EvalPlan,
    Prim,
    SubStep,
    ThinkStep,
)
from composable_agents.core.pures import DEFAULT_REGISTRY, Registry
from composable_agents.errors import CompositionError
from composable_agents.execution.agent_loop import CONTROLLER_MODE_KEY, ControllerMode
from composable_agents.execution.llm import check_models, llm_fake
from composable_agents.execution.result import STATUSES, Result

if TYPE_CHECKING:
    from composable_agents.compiler.deploy import Deployment
    from composable_agents.compiler.diagnostics import Diagnostic
    from composable_agents.execution.staged import PlanContext

__all__ = ["Agent", "agent_trace", "with_status"]

# Defaults: ``Agent(...)`` without type arguments is an ``Agent[Any, Any]``, as
# its run-time ``in_type``/``out_type`` (nothing in the constructor binds them).
I = TypeVar("I", default=Any)
O = TypeVar("O", default=Any)

Mode = Literal["strict", "dev"]
Capability = Tool[Any, Any] | ToolRef | Arrow[Any, Any] | str


def with_status(result: Result[Any]) -> Result[Any]:
    """``result`` with a run-stopping error's own status (``escalated``, ``max_rounds``, ...).

    A no-op once the runner maps :class:`~composable_agents.errors.RunStopped`
    itself; until then a ``failed`` result whose error carries a known
    ``status`` and ``detail`` gets them.
    """
    from composable_agents.execution.agent_runtime import status_of

    if result.status != "failed" or result.error is None:
        return result
    found = status_of(result.error)
    if found is None or found[0] not in STATUSES:
        return result
    status, detail = found
    return dataclasses.replace(result, status=status, detail=dict(detail))  # type: ignore[arg-type]


def _reasoner_of(name: str, reasoner: Reasoner[Any, Any] | str | None, registry: Registry) -> Reasoner[Any, Any]:
    if isinstance(reasoner, Reasoner):
        registry.register_reasoner(reasoner)
        return reasoner
    if isinstance(reasoner, str) and reasoner:
        found = registry.reasoners.get(reasoner)
        if found is None:
            found = registry.register_reasoner(Reasoner(name=reasoner, model="unspecified"))
        return found
    if reasoner is None:
        default = Reasoner(
            name=f"{name}.controller",
            model="unspecified",
            system=(
                "You control an agent loop. Reply with exactly one JSON action: "
                '{"action": "finish", "value": V}, {"action": "escalate", "reason": R}, '
                '{"action": "call", "tool": KEY, "input": X} or {"action": "sub", "flow": REF, "input": X}.'
            ),
        )
        existing = registry.reasoners.get(default.name)
        if existing is not None:
            return existing
        return registry.register_reasoner(default)
    msg = f"`reasoner` must be a Reasoner, a reasoner name or None, got {reasoner!r}"
    raise CompositionError(msg)


class Agent(Arrow[I, O]):
    """A bounded agent loop as an arrow (lowers to ``app``); see the module docs."""

    __slots__ = (
        "_agent_name",
        "_budget",
        "_controller",
        "_controller_mode",
        "_llm",
        "_max_rounds",
        "_mode",
        "_registry",
        "_sub_items",
        "_tool_items",
    )

    _agent_name: str
    _controller: Reasoner[Any, Any]
    _tool_items: tuple[tuple[str, ToolDef | None], ...]
    _sub_items: tuple[tuple[str, Arrow[Any, Any] | None], ...]
    _budget: JsonObject | None
    _max_rounds: int | None
    _mode: Mode
    _llm: Callable[..., Any] | None
    _controller_mode: ControllerMode
    _registry: Registry

    def __init__(
        self,
        name: str,
        *,
        reasoner: Reasoner[Any, Any] | str | None = None,
        tools: Iterable[Capability] = (),
        subflows: Iterable[Arrow[Any, Any] | str] = (),
        budget: float | Mapping[str, Json] | None = None,
        max_rounds: int | None = None,
        mode: Mode = "strict",
        llm: Callable[..., Any] | None = None,
        controller_mode: ControllerMode = "strict",
        registry: Registry | None = None,
        in_type: object = Any,
        out_type: object = Any,
        tags: Iterable[str] = (),
        _register: bool = True,
    ) -> None:
        checked: object = name
        if not isinstance(checked, str) or not name or name != name.strip():
            msg = f"Agent name must be a non-empty string without surrounding spaces, got {name!r}"
            raise CompositionError(msg)
        if mode not in ("strict", "dev"):
            msg = f"`mode` must be 'strict' or 'dev', got {mode!r}"
            raise CompositionError(msg)
        if controller_mode not in ("strict", "permissive"):
            msg = f"`controller_mode` must be 'strict' or 'permissive', got {controller_mode!r}"
            raise CompositionError(msg)
        if max_rounds is not None and (type(max_rounds) is not int or max_rounds < 1):
            msg = f"`max_rounds` must be a positive integer, got {max_rounds!r}"
            raise CompositionError(msg)
        reg = registry or DEFAULT_REGISTRY
        controller = _reasoner_of(name, reasoner, reg)
        tool_items, sub_items = _split_capabilities(name, tools, subflows, reg)
        budget_json = _budget_json(budget)
        if controller_mode == "permissive":
            budget_json = {**(budget_json or {}), CONTROLLER_MODE_KEY: "permissive"}
        node = App(
            controller=controller.name,
            tools=tuple(k for k, _ in tool_items),
            subflows=tuple(r for r, _ in sub_items),
            budget=budget_json,
            max_rounds=max_rounds,
            name=None,
        )
        Arrow.__init__(
            self, node, in_type=in_type, out_type=out_type, ref=name if _register else None, label=name,
            tags=check_tags(tags),
        )
        for attr, value in (
            ("_agent_name", name),
            ("_controller", controller),
            ("_tool_items", tool_items),
            ("_sub_items", sub_items),
            ("_budget", budget_json),
            ("_max_rounds", max_rounds),
            ("_mode", mode),
            ("_llm", llm),
            ("_controller_mode", controller_mode),
            ("_registry", reg),
        ):
            object.__setattr__(self, attr, value)
        if _register:
            reg.register_flow(name, self)

    def _copy_extra(self, clone: Any) -> None:
        for attr in Agent.__slots__:
            object.__setattr__(clone, attr, getattr(self, attr))

    # -- facts ---------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The agent's name (its durable ref when registered)."""
        return self._agent_name

    @property
    def controller(self) -> str:
        """The controller reasoner's name (the key for ``reasoners={...}`` fakes)."""
        return self._controller.name

    @property
    def tools(self) -> tuple[str, ...]:
        """Granted tool keys (``app.tools``)."""
        return tuple(k for k, _ in self._tool_items)

    @property
    def subflows(self) -> tuple[str, ...]:
        """Granted sub-agent / sub-flow refs (``app.subflows``)."""
        return tuple(r for r, _ in self._sub_items)

    @property
    def budget(self) -> JsonObject | None:
        """The loop's budget record (``cost``/``tokens``/``wallSeconds``)."""
        return dict(self._budget) if self._budget is not None else None

    @property
    def max_rounds(self) -> int | None:
        """The round bound (``None``: the runtime default)."""
        return self._max_rounds

    @property
    def mode(self) -> Mode:
        """``strict`` or ``dev``."""
        return self._mode

    def __repr__(self) -> str:
        return f"<Agent {self._agent_name} tools={list(self.tools)} subflows={list(self.subflows)}>"

    # -- derived agents ----------------------------------------------------------------

    def _params(self) -> dict[str, Any]:
        budget = {k: v for k, v in (self._budget or {}).items() if k != CONTROLLER_MODE_KEY} or None
        return {
            "reasoner": self._controller,
            "tools": [d if d is not None else k for k, d in self._tool_items],
            "subflows": [a if a is not None else r for r, a in self._sub_items],
            "budget": budget,
            "max_rounds": self._max_rounds,
            "mode": self._mode,
            "llm": self._llm,
            "controller_mode": self._controller_mode,
            "registry": self._registry,
            "tags": self.tags,
            "in_type": self.in_type,
            "out_type": self.out_type,
        }

    def _derive(self, name: str | None, params: dict[str, Any]) -> Agent[I, O]:
        if name is not None:
            return Agent(name, **params)
        probe: Agent[I, O] = Agent(self._agent_name, **params, _register=False)
        suffix = hashlib.sha256(probe.to_ir().digest().encode()).hexdigest()[:8]
        derived = f"{self._agent_name}~{suffix}"
        return Agent(derived, **params, _register=False)

    def with_tools(self, *items: Capability, name: str | None = None) -> Agent[I, O]:
        """A new agent with ``items`` added to the capability list (affine: a derived name unless ``name=``)."""
        params = self._params()
        params["tools"] = [*params["tools"], *items]
        return self._derive(name, params)

    def without(self, *names: str | Capability, name: str | None = None) -> Agent[I, O]:
        """A new agent without the named tools / sub-flows (unknown names are an error)."""
        drop = {_capability_key(n) for n in names}
        known = set(self.tools) | set(self.subflows)
        unknown = sorted(drop - known)
        if unknown:
            msg = f"agent {self._agent_name!r} has no capability {', '.join(map(repr, unknown))}"
            raise CompositionError(msg)
        params = self._params()
        params["tools"] = [t for (k, _), t in zip(self._tool_items, params["tools"], strict=True) if k not in drop]
        params["subflows"] = [s for (r, _), s in zip(self._sub_items, params["subflows"], strict=True) if r not in drop]
        return self._derive(name, params)

    def replace(self, *, name: str | None = None, **changes: Any) -> Agent[I, O]:
        """A new agent with constructor arguments replaced (``reasoner=``, ``budget=``, ``max_rounds=``, ...)."""
        params = self._params()
        unknown = sorted(set(changes) - set(params))
        if unknown:
            msg = f"Agent.replace() got unknown arguments {unknown}"
            raise CompositionError(msg)
        params.update(changes)
        return self._derive(name, params)

    def named(self, ref: str, *, tags: Iterable[str] | None = None, registry: Registry | None = None) -> Agent[I, O]:
        """This agent under the durable name ``ref`` (registered for ``sub``/``subflows``); ``tags=None`` keeps its tags."""
        params = self._params()
        if registry is not None:
            params["registry"] = registry
        if tags is not None:
            params["tags"] = tags
        return Agent(ref, **params)

    # -- deploy and run ------------------------------------------------------------------

    def tool_defs(self) -> list[ToolDef]:
        """Every tool definition the agent's closure reaches (its own and its sub-flows')."""
        return self._closure()[0]

    def reasoner_defs(self) -> list[Reasoner[Any, Any]]:
        """Every reasoner the agent's closure reaches (controllers, planners, think steps)."""
        return self._closure()[1]

    def _closure(self) -> tuple[list[ToolDef], list[Reasoner[Any, Any]]]:
        """:meth:`tool_defs` and :meth:`reasoner_defs` from one walk of the closure."""
        tools: dict[str, ToolDef] = {}
        reasoners: dict[str, Reasoner[Any, Any]] = {}
        self._collect(tools, reasoners, set())
        return list(tools.values()), list(reasoners.values())

    def _collect(self, tools: dict[str, ToolDef], reasoners: dict[str, Reasoner[Any, Any]], seen: set[str]) -> None:
        reasoners.setdefault(self._controller.name, self._controller)
        reg = self._registry
        for key, definition in self._tool_items:
            definition = definition or reg.tools.get(key)
            if definition is not None:
                tools.setdefault(key, definition)
        for ref, arrow in self._sub_items:
            if ref in seen:
                continue
            seen.add(ref)
            target = arrow if arrow is not None else reg.flows.get(ref)
            if isinstance(target, Agent):
                target._collect(tools, reasoners, seen)
            elif target is not None:
                _collect_flow(target, reg, tools, reasoners, seen)

    def deploy(
        self,
        snapshot: Any = None,
        *,
        tools: Iterable[Any] | None = None,
        reasoners: Iterable[Reasoner[Any, Any]] | None = None,
        capabilities: Any = None,
        strict: bool = True,
        **kwargs: Any,
    ) -> Deployment[I, O]:
        """Freeze and check this agent (its closure's tools and reasoners by default)."""
        from composable_agents.compiler.deploy import deploy

        if tools is None or reasoners is None:
            found_tools, found_reasoners = self._closure()
            tools = found_tools if tools is None else tools
            reasoners = found_reasoners if reasoners is None else reasoners
        return deploy(
            self,
            snapshot,
            tools=tools,
            reasoners=reasoners,
            capabilities=capabilities,
            mode=self._mode,
            strict=strict,
            registry=kwargs.pop("registry", self._registry),
            **kwargs,
        )

    def check(self, snapshot: Any = None, *, capabilities: Any = None, **kwargs: Any) -> list[Diagnostic]:
        """Every diagnostic a deploy would report, without raising."""
        dep = self._deploy_quietly(snapshot, capabilities=capabilities, strict=False, **kwargs)
        return list(dep.diagnostics)

    def prod_gap_summary(self, snapshot: Any = None, *, capabilities: Any = None) -> str:
        """What a strict production deploy would block (meaningful in ``mode="dev"``)."""
        if self._mode != "dev":
            blocking = [d for d in self.check(snapshot, capabilities=capabilities) if d.blocking]
            if not blocking:
                return "No production gap: a strict deploy would pass."
            return "\n".join(["A strict deploy blocks on:"] + [d.render() for d in blocking])
        return self._deploy_quietly(snapshot, capabilities=capabilities).prod_gap_summary()

    def _deploy_quietly(self, snapshot: Any = None, *, quiet: bool = True, **kwargs: Any) -> Deployment[I, O]:
        """:meth:`deploy` with its warnings silenced when ``quiet`` (``check``, the gap summary, dev-mode runs)."""
        import warnings

        with warnings.catch_warnings():
            if quiet:
                warnings.simplefilter("ignore")
            return self.deploy(snapshot, **kwargs)

    def _prepare_run(
        self,
        capabilities: Any,
        reasoners: Mapping[str, Callable[..., Any]] | None,
        llm: Callable[..., Any] | None,
    ) -> tuple[Deployment[I, O], dict[str, Callable[..., Any]]]:
        """What :meth:`run` and :meth:`arun` share: the deployment (quiet in dev mode) and its reasoner fakes."""
        dep = self._deploy_quietly(quiet=self._mode == "dev", capabilities=capabilities)
        return dep, self._fakes(dep, reasoners, llm)

    def _fakes(
        self,
        deployment: Deployment[I, O],
        reasoners: Mapping[str, Callable[..., Any]] | None,
        llm: Callable[..., Any] | None,
    ) -> dict[str, Callable[..., Any]]:
        fakes = dict(reasoners or {})
        caller = llm or self._llm
        if caller is None:
            return fakes
        catalog = deployment.catalog()
        defined = {n: catalog.reasoner(n) for n in sorted(deployment.program.reasoners) if n not in fakes}
        check_models(caller, [d if d is not None else n for n, d in defined.items()])
        for name, definition in defined.items():
            fakes[name] = llm_fake(caller, definition if definition is not None else name)
        return fakes

    def run(
        self,
        value: I,
        *,
        reasoners: Mapping[str, Callable[..., Any]] | None = None,
        tools: Mapping[str, Callable[..., Any]] | None = None,
        llm: Callable[..., Any] | None = None,
        principal: Json = None,
        gates: Any = None,
        capabilities: Any = None,
        run_id: str = "agent-run",
        mcp_servers: Any = None,
    ) -> Result[O]:
        """Deploy and run locally; ``reasoners=`` fakes or ``llm=`` a real caller; ``mcp_servers=``
        serves its MCP tools from live servers (see ``Deployment.dry_run``)."""
        dep, fakes = self._prepare_run(capabilities, reasoners, llm)
        result = dep.dry_run(
            value, reasoners=fakes, tools=tools, gates=gates, principal=principal, run_id=run_id, mcp_servers=mcp_servers
        )
        return with_status(result)

    async def arun(
        self,
        value: I,
        *,
        reasoners: Mapping[str, Callable[..., Any]] | None = None,
        tools: Mapping[str, Callable[..., Any]] | None = None,
        llm: Callable[..., Any] | None = None,
        principal: Json = None,
        gates: Any = None,
        capabilities: Any = None,
        run_id: str = "agent-run",
        mcp_servers: Any = None,
    ) -> Result[O]:
        """The async twin of :meth:`run`."""
        dep, fakes = self._prepare_run(capabilities, reasoners, llm)
        result = await dep.arun(
            value, reasoners=fakes, tools=tools, gates=gates, principal=principal, run_id=run_id, mcp_servers=mcp_servers
        )
        return with_status(result)

    def plan_manifest(self) -> PlanContext:
        """What a plan extracted from this agent may bind to: its own granted tools and sub-flows."""
        from composable_agents.compiler.freeze import execution_hash
        from composable_agents.execution.staged import PlanContext

        defs = {k: d for k, d in ((k, d or self._registry.tools.get(k)) for k, d in self._tool_items) if d is not None}
        return PlanContext(
            tools=defs,
            execution_hashes={k: execution_hash(d) for k, d in defs.items()},
            reasoners=frozenset(),
            subflows=frozenset(self.subflows),
            registry=self._registry,
        )

    async def open(
        self,
        session: Any = None,
        *,
        backend: str = "local",
        reasoners: Mapping[str, Callable[..., Any]] | None = None,
        tools: Mapping[str, Callable[..., Any]] | None = None,
        llm: Callable[..., Any] | None = None,
        capacity: int | None = None,
        principal: Json = None,
        session_id: str | None = None,
        client: Any = None,
        task_queue: str | None = None,
        continue_as_new_after: int | None = None,
        heartbeat_s: float | None = None,
    ) -> Any:
        """Open a session (``scan``/``loop``/``@session``) with this agent's tools and reasoners.

        ``backend="local"`` runs in memory (a ``SessionHandle``);
        ``backend="temporal"`` starts (or, for a running ``session_id``,
        attaches to) a durable ``SessionWorkflow`` through ``client`` and
        returns a ``TemporalSessionHandle`` with the same methods; its tools
        and reasoners run on the workers of ``task_queue``, and it continues
        as new every ``continue_as_new_after`` turns, carrying the carrier
        (``heartbeat_s``: see ``Deployment.run``). ``cma`` is not provided by this build.
        """
        from composable_agents.agents.sessions import open_session

        if backend == "temporal":
            return await open_session(
                session,
                agent=self,
                backend=backend,
                capacity=capacity,
                principal=principal,
                session_id=session_id,
                client=client,
                task_queue=task_queue,
                continue_as_new_after=continue_as_new_after,
                heartbeat_s=heartbeat_s,
            )
        return await open_session(
            session,
            agent=self,
            backend=backend,
            reasoners=reasoners,
            tools=tools,
            llm=llm or self._llm,
            capacity=capacity,
            principal=principal,
            session_id=session_id,
        )


def _budget_json(budget: float | Mapping[str, Json] | None) -> JsonObject | None:
    if budget is None:
        return None
    if type(budget) in (int, float):
        if not _budget_number(budget):
            msg = f"`budget` must be a finite, non-negative number of USD (at most 1e15), got {_short_number(budget)}"
            raise CompositionError(msg)
        return {"cost": float(budget)}  # type: ignore[arg-type]
    if isinstance(budget, Mapping):
        out = dict(budget)
        for key, value in out.items():
            if key not in ("cost", "tokens", "wallSeconds") or type(value) not in (int, float) or not _budget_number(value):
                msg = (
                    "budget entries are cost/tokens/wallSeconds with finite, non-negative numbers (at most 1e15), "
                    f"got {key!r}: {_short_number(value)}"
                )
                raise CompositionError(msg)
        return out
    msg = f"`budget` must be a number (USD) or a {{cost, tokens, wallSeconds}} mapping, got {budget!r}"
    raise CompositionError(msg)


def _budget_number(value: Any) -> bool:
    """A non-negative :func:`~composable_agents.core.codec.budget_figure` (a 4,000-digit int is refused)."""
    return budget_figure(value) and value >= 0


def _short_number(value: Any) -> str:
    text = repr(value) if not isinstance(value, int) or value.bit_length() < 200 else f"an integer of {value.bit_length()} bits"
    return text if len(text) <= 60 else text[:57] + "..."


def _capability_key(item: Any) -> str:
    if isinstance(item, Agent):
        return item.name if item.ref is None else item.ref
    if isinstance(item, Tool | ToolRef):
        return item.key
    if isinstance(item, ToolDef):
        return item.key
    if isinstance(item, Arrow):
        if item.ref is None:
            msg = f"flow {item.label!r} is unnamed; call .named('ref') before granting it"
            raise CompositionError(msg)
        return item.ref
    if isinstance(item, str) and item:
        return item
    msg = f"not a capability: {item!r}"
    raise CompositionError(msg)


def _split_capabilities(
    name: str, tools: Iterable[Any], subflows: Iterable[Any], reg: Registry
) -> tuple[tuple[tuple[str, ToolDef | None], ...], tuple[tuple[str, Arrow[Any, Any] | None], ...]]:
    tool_items: dict[str, ToolDef | None] = {}
    sub_items: dict[str, Arrow[Any, Any] | None] = {}

    def add_tool(key: str, definition: ToolDef | None) -> None:
        if key in RESERVED_TOOLS or key.startswith("__"):
            msg = f"agent {name!r}: {key!r} is a reserved tool and cannot be granted"
            raise CompositionError(msg)
        if key in sub_items:
            msg = f"agent {name!r}: capability {key!r} is both a tool and a sub-flow"
            raise CompositionError(msg)
        if key in tool_items:
            previous = tool_items[key]
            if previous is not None and definition is not None and previous is not definition and (
                previous.definition_hash() != definition.definition_hash()
            ):
                msg = f"agent {name!r}: two different tools share the key {key!r}; give one a different name="
                raise CompositionError(msg)
            if previous is None:
                tool_items[key] = definition
            return
        tool_items[key] = definition

    def add_sub(item: Any, ref: str) -> None:
        if ref == name:
            msg = f"agent {name!r} cannot list itself as a sub-flow"
            raise CompositionError(msg)
        if ref in tool_items:
            msg = f"agent {name!r}: capability {ref!r} is both a tool and a sub-flow"
            raise CompositionError(msg)
        if ref in sub_items:
            previous = sub_items[ref]
            if previous is not None and item is not None and previous.to_ir() != item.to_ir():
                msg = f"agent {name!r}: two different flows share the name {ref!r}"
                raise CompositionError(msg)
            return
        sub_items[ref] = item

    for item in tools:
        if isinstance(item, Tool):
            add_tool(item.key, item.definition)
        elif isinstance(item, ToolRef):
            add_tool(item.key, None)
        elif isinstance(item, ToolDef):
            add_tool(item.key, item)
        elif isinstance(item, Agent):
            if item.ref is None:
                msg = f"agent {name!r}: sub-agent {item.name!r} is unnamed (derived); call .named('ref') first"
                raise CompositionError(msg)
            add_sub(item, item.ref)
        elif isinstance(item, Arrow):
            if item.ref is None:
                msg = (
                    f"agent {name!r}: flow {item.label!r} is unnamed; a flow granted to an agent must be "
                    "named: call .named('ref.v1') on it"
                )
                raise CompositionError(msg)
            add_sub(item, item.ref)
        elif isinstance(item, str) and item:
            add_tool(item, reg.tools.get(item))
        else:
            msg = f"agent {name!r}: not a capability (tool, tool key, agent or named flow): {item!r}"
            raise CompositionError(msg)
    for item in subflows:
        if isinstance(item, Arrow):
            if item.ref is None:
                msg = f"agent {name!r}: flow {item.label!r} is unnamed; call .named('ref.v1') on it"
                raise CompositionError(msg)
            add_sub(item, item.ref)
        elif isinstance(item, str) and item:
            add_sub(reg.flows.get(item), item)
        else:
            msg = f"agent {name!r}: subflows takes named flows, agents or refs, got {item!r}"
            raise CompositionError(msg)
    return tuple(tool_items.items()), tuple(sub_items.items())


def _collect_flow(
    flow: Arrow[Any, Any],
    reg: Registry,
    tools: dict[str, ToolDef],
    reasoners: dict[str, Reasoner[Any, Any]],
    seen: set[str],
) -> None:
    stack: list[Arrow[Any, Any]] = [flow]
    while stack:
        current = stack.pop()
        if isinstance(current, Agent):
            current._collect(tools, reasoners, seen)
            continue
        for _nid, node, _parent in walk(current.to_ir()):
            if isinstance(node, Prim):
                step = node.step
                if isinstance(step, CallStep) and step.tool not in RESERVED_TOOLS:
                    found = reg.tools.get(step.tool)
                    if found is not None:
                        tools.setdefault(step.tool, found)
                elif isinstance(step, ThinkStep):
                    r = reg.reasoners.get(step.reasoner)
                    if r is not None:
                        reasoners.setdefault(r.name, r)
                elif isinstance(step, SubStep) and step.ref not in seen:
                    seen.add(step.ref)
                    child = reg.flows.get(step.ref)
                    if child is not None:
                        stack.append(child)
            elif isinstance(node, App | EvalPlan):
                rname = node.controller if isinstance(node, App) else node.planner
                r = reg.reasoners.get(rname)
                if r is not None:
                    reasoners.setdefault(r.name, r)
                if isinstance(node, App):
                    for key in node.tools:
                        found = reg.tools.get(key)
                        if found is not None:
                            tools.setdefault(key, found)
                    for ref in node.subflows:
                        if ref not in seen:
                            seen.add(ref)
                            child = reg.flows.get(ref)
                            if child is not None:
                                stack.append(child)
