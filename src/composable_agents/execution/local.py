"""Local runs of a deployment: ``Deployment.dry_run``/``arun`` on an in-memory Env.

:class:`~composable_agents.compiler.deploy.Deployment` lives in the compiler,
below the interpreter, so its local-run methods call the runner this module
registers on import (:func:`~composable_agents.compiler.deploy.register_local_runner`).
The runner checks the deployment may run, builds an
:class:`~composable_agents.execution.env.InMemoryEnv` with the fakes, a
ledger from the capability manifest and the run state, then drives segment
after segment until a final value. Rejected alternative: keeping these
methods on ``Deployment`` with imports of the interpreter, which made the
compiler depend on the layer above it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from composable_agents.compiler.deploy import Deployment, RunOptions, register_local_runner
from composable_agents.core.canonical import Json
from composable_agents.core.policy import ExecutionPolicy
from composable_agents.core.pures import check_pins
from composable_agents.core.schema import from_json_value, is_any
from composable_agents.errors import MissingFakeError, SegmentLimitExceeded, ToolDefinitionMismatch
from composable_agents.execution.env import _CURRENT, InMemoryEnv
from composable_agents.execution.interpreter import Catalog, Program, RunState, is_continuation
from composable_agents.execution.limits import ledger_from_capabilities
from composable_agents.execution.llm import check_models, llm_fake
from composable_agents.execution.projection import Projection, Recorder
from composable_agents.execution.result import Result, status_of
from composable_agents.execution.tool_callers import mcp_call_for, mcp_tool_fakes

__all__ = ["LocalRunnerImpl", "run_coroutine"]

O = TypeVar("O")
T = TypeVar("T")


def _segment_limit(limit: int) -> SegmentLimitExceeded:
    return SegmentLimitExceeded(
        f"the run asked for more than {limit} continuation segments "
        "(raise ExecutionPolicy(max_segments=...) if that is intended)"
    )


def _check_drift(dep: Deployment[Any, Any], fakes: Mapping[str, Any] | None) -> None:
    """What a worker checks before the first step, checked locally too (SPEC §22.4).

    Pinned pures must still have the deployed bodies (:func:`check_pins`), and
    a tool this process would run must still have the body frozen in the
    manifest (a tool re-registered after deploy with another body is a
    :class:`ToolDefinitionMismatch`, as on a worker). Bodies are compared,
    not whole definitions: a capability grant's assertions change the frozen
    contract, not the tool. A tool faked with ``tools={key: fn}`` replaces
    its body on purpose and is not compared.
    """
    check_pins(dep.manifest_json.get("pures") or {}, dep.registry)
    registered = dep.registry.tools
    for key, frozen in dep.frozen.tools.items():
        current = registered.get(key)
        if current is None or current is frozen or current.fn is None or (fakes and key in fakes):
            continue
        if current.body_hash != frozen.body_hash:
            msg = (
                f"tool {key!r} is registered here with body {str(current.body_hash)[:23]}... but the "
                f"deployment was frozen against {str(frozen.body_hash)[:23]}...: redeploy the flow "
                "against the current tool code (or fake the tool with tools={...})"
            )
            raise ToolDefinitionMismatch(msg)


class LocalRunnerImpl:
    """The one :class:`~composable_agents.compiler.deploy.LocalRunner`: runs deployments in memory."""

    def catalog(self, dep: Deployment[Any, Any]) -> Catalog:
        """What the interpreter may reach for ``dep``."""
        return Catalog(
            registry=dep.registry,
            tools=dict(dep.frozen.tools),
            reasoners=dict(dep.frozen.reasoners),
            subflows=dict(dep.frozen.subflows),
            execution_hashes=dict(dep.frozen.execution_hashes),
        )

    def program(self, dep: Deployment[Any, Any]) -> Program:
        """``dep``'s frozen flow compiled to closures."""
        return Program(dep.frozen.node, self.catalog(dep))

    # -- one run ----------------------------------------------------------------------

    @staticmethod
    def _finish(state: RunState, recorder: Recorder | None, **fields: Any) -> Result[Any]:
        """A ``Result`` carrying the run's projection, cost, usage and segment count."""
        projection = recorder.projection() if recorder is not None else Projection([])
        cost = projection.total_cost if recorder is not None or state.ledger is None else state.ledger.cost
        return Result(
            projection=projection,
            cost=cost,
            run_id=state.run_id,
            usage=state.ledger.usage() if state.ledger is not None else None,
            segments=state.segment + 1,
            **fields,
        )

    def _result(self, dep: Deployment[Any, O], value: Json, state: RunState, recorder: Recorder | None) -> Result[O]:
        decoded = None if is_any(dep.out_type) else from_json_value(value, dep.out_type)
        return self._finish(state, recorder, status="ok", raw_value=value, decoded=decoded)

    def _failure(self, exc: BaseException, state: RunState, recorder: Recorder | None) -> Result[Any]:
        """A non-ok ``Result``: gate endings, ``over_budget`` and failures (see ``result.status_of``)."""
        status, detail = status_of(exc)
        return self._finish(state, recorder, status=status, detail=detail, error=exc)

    def _prepare(
        self,
        dep: Deployment[Any, Any],
        *,
        reasoners: Mapping[str, Callable[..., Any]] | None,
        tools: Mapping[str, Callable[..., Any]] | None,
        principal: Json,
        policy: ExecutionPolicy | None,
        run_id: str,
        sync_in_thread: bool,
        seed: int | None,
        project: bool,
        gates: Any = None,
        llm: Callable[..., Any] | None = None,
    ) -> tuple[Program, RunState, Recorder | None]:
        """Check the deployment may run, then build its InMemoryEnv, ledger and state.

        The ledger comes from the capability manifest (``maxCalls`` per tool,
        ``budget``); strict deployments refuse approval-required tools that no
        approving gate precedes, dev deployments run them and record
        ``approval_bypassed``.
        """
        dep._check_runnable()
        _check_drift(dep, tools)
        program = dep.program
        fakes = dict(reasoners or {})
        missing = sorted(program.reasoners - set(fakes))
        if missing and llm is not None:
            # llm= answers every reasoner without a fake; it may refuse unconfigured models first.
            defined = {name: program.catalog.reasoner(name) for name in missing}
            check_models(llm, [d if d is not None else n for n, d in defined.items()])
            for name, definition in defined.items():
                fakes[name] = llm_fake(llm, definition if definition is not None else name)
            missing = []
        if missing:
            listed = ", ".join(repr(m) for m in missing)
            msg = f"no fake for reasoner(s) {listed}: pass dry_run(..., reasoners={{name: fn}}) for each, or llm="
            raise MissingFakeError(msg)
        env = InMemoryEnv(
            tools=dict(tools or {}), reasoners=fakes, seed=seed, sync_in_thread=sync_in_thread, gates=gates
        )
        pol = policy or dep.policy
        recorder = Recorder() if project else None
        state = RunState(
            env,
            catalog=program.catalog,
            run_id=run_id,
            principal=principal,
            check=pol.check_types,
            recorder=recorder,
            ledger=ledger_from_capabilities(dep.capabilities_json, start=env.now(), clock=env.now),
            strict=dep.mode == "strict",
            read_attempts=pol.read_max_attempts,
            retry_interval_s=pol.initial_interval_s,
            backoff_rate=pol.backoff_coefficient,
        )
        return program, state, recorder

    def _start(
        self, dep: Deployment[Any, O], value: Any, opts: RunOptions, *, sync_in_thread: bool
    ) -> tuple[Program, RunState, Recorder | None, Json, int, Callable[[], Awaitable[None]] | None]:
        """Everything a run needs before its first step: program, state, recorder, input, segment limit."""
        tools, close = _with_mcp(dep, opts.tools, opts.mcp_servers)
        program, state, recorder = self._prepare(
            dep,
            reasoners=opts.reasoners,
            tools=tools,
            principal=opts.principal,
            policy=opts.policy,
            run_id=opts.run_id,
            sync_in_thread=sync_in_thread,
            seed=opts.seed,
            project=opts.projection,
            gates=opts.gates,
            llm=opts.llm,
        )
        limit = opts.max_segments if opts.max_segments is not None else (opts.policy or dep.policy).max_segments
        return program, state, recorder, dep._encode_input(value), limit, close

    def dry_run(self, dep: Deployment[Any, O], value: Any, opts: RunOptions) -> Result[O]:
        """Run ``dep`` locally with in-memory effects on a virtual clock (see ``Deployment.dry_run``)."""
        program, state, recorder, payload, limit, close = self._start(dep, value, opts, sync_in_thread=False)
        if program.is_sync and close is None:
            # An effect-free program runs without an event loop; only a continuation needs one.
            try:
                out = program.run_sync(payload, state)
            except Exception as exc:  # noqa: BLE001 - any step failure becomes a failed Result
                return self._failure(exc, state, recorder)
            if not is_continuation(out, state):
                return self._result(dep, out, state, recorder)
            if limit <= 1:
                return self._failure(_segment_limit(limit), state, recorder)
            payload = out["__continue__"]  # type: ignore[index,call-overload,unused-ignore]
            state.next_segment()
            if recorder is not None:
                recorder.start_segment(state.segment)
        return run_coroutine(_closing(self._drive(dep, program, payload, state, recorder, limit), close))

    async def arun(self, dep: Deployment[Any, O], value: Any, opts: RunOptions) -> Result[O]:
        """The async twin of :meth:`dry_run` (sync tool bodies run in worker threads)."""
        program, state, recorder, payload, limit, close = self._start(dep, value, opts, sync_in_thread=True)
        return await _closing(self._drive(dep, program, payload, state, recorder, limit), close)

    async def _drive(
        self,
        dep: Deployment[Any, O],
        program: Program,
        payload: Json,
        state: RunState,
        recorder: Recorder | None,
        max_segments: int = 100,
    ) -> Result[O]:
        """Run segment after segment until a final value that is not a continuation."""
        token = _CURRENT.set(state.env)
        try:
            while True:
                try:
                    out = await program.run(payload, state)
                except Exception as exc:  # noqa: BLE001 - any step failure becomes a failed Result
                    return self._failure(exc, state, recorder)
                if not is_continuation(out, state):
                    return self._result(dep, out, state, recorder)
                if state.segment + 1 >= max_segments:
                    return self._failure(_segment_limit(max_segments), state, recorder)
                payload = out["__continue__"]  # type: ignore[index,call-overload,unused-ignore]
                state.next_segment()
                if recorder is not None:
                    recorder.start_segment(state.segment)
        finally:
            _CURRENT.reset(token)


def _with_mcp(
    dep: Deployment[Any, Any],
    tools: Mapping[str, Callable[..., Any]] | None,
    mcp_servers: Sequence[Any] | Callable[..., Any] | None,
) -> tuple[Mapping[str, Callable[..., Any]] | None, Callable[[], Awaitable[None]] | None]:
    """``tools`` plus live callers for the MCP tools without a fake, and what closes their sessions."""
    if mcp_servers is None:
        return tools, None
    pins = (dep.capabilities_json or {}).get("mcp_servers")
    mcp_call, close = mcp_call_for(mcp_servers, pins=pins if isinstance(pins, Mapping) else None)
    return mcp_tool_fakes(dep.frozen.tools, tools or {}, mcp_call), close


async def _closing(run: Awaitable[T], close: Callable[[], Awaitable[None]] | None) -> T:
    """Await ``run``, then close the run's own MCP sessions (in the loop that opened them)."""
    try:
        return await run
    finally:
        if close is not None:
            await close()


def run_coroutine(coro: Awaitable[T]) -> T:
    """Run ``coro`` to completion from sync code, even when a loop is already running here."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)  # type: ignore[arg-type]
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)  # type: ignore[arg-type]
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="composable-agents-dry-run")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


register_local_runner(LocalRunnerImpl())
