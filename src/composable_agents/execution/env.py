"""The ``Env`` seam and its in-memory implementation.

The interpreter never touches clocks, randomness, threads or IO: every effect
goes through an :class:`Env` — tool calls, reasoner calls, human gates,
sleeping, the clock, and concurrency over *thunks* (zero-argument callables
returning awaitables, so the Env decides when a branch starts). The Temporal
backend implements the same protocol with activities, timers and workflow
primitives; :class:`InMemoryEnv` implements it with plain asyncio and a
virtual clock for local runs and tests.
"""

from __future__ import annotations

import asyncio
import inspect
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from composable_agents.core.canonical import Json
from composable_agents.errors import MissingFakeError

if TYPE_CHECKING:
    from composable_agents.authoring.leaves import Reasoner, ToolDef

__all__ = ["Env", "ToolCall", "ReasonerCall", "InMemoryEnv", "Thunk", "call_with_runtime_params"]

T = TypeVar("T")
Thunk = Callable[[], Awaitable[T]]


@dataclass(frozen=True, slots=True)
class ToolCall:
    """Everything an Env needs to run one tool call (one activation, all attempts).

    ``max_attempts`` is already clamped by the frozen contract: a call that is
    not retry-safe always has 1.
    """

    key: str
    node_id: str
    activation: str
    value: Json
    idempotency_key: str
    definition: ToolDef | None
    execution_hash: str | None = None
    max_attempts: int = 1
    retry_interval_s: float = 1.0
    backoff_rate: float = 2.0
    timeout_s: float | None = None
    principal: Json = None
    args: Mapping[str, Json] | None = None


@dataclass(frozen=True, slots=True)
class ReasonerCall:
    """One reasoner invocation: the frozen definition and the prompt value."""

    name: str
    node_id: str
    activation: str
    value: Json
    definition: Reasoner[Any, Any] | None
    timeout_s: float | None = None
    max_attempts: int = 1
    principal: Json = None


@runtime_checkable
class Env(Protocol):
    """What the interpreter asks of its backend."""

    async def call_tool(self, call: ToolCall) -> Json:
        """Run a tool call (owning retries and per-attempt timeouts)."""
        ...

    async def invoke_reasoner(self, call: ReasonerCall) -> Json:
        """Run a reasoner and return its JSON reply."""
        ...

    async def gather(self, thunks: Sequence[Thunk[T]]) -> list[T]:
        """Start every thunk, wait for all, return results in thunk order."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` on this Env's clock (a durable timer on Temporal)."""
        ...

    def now(self) -> float:
        """This Env's clock, in seconds."""
        ...


_ACCEPTS: dict[Callable[..., Any], frozenset[str] | None] = {}


def _accepted(fn: Callable[..., Any]) -> frozenset[str] | None:
    """The runtime keyword names ``fn`` declares (``None``: it takes ``**kwargs``)."""
    try:
        return _ACCEPTS[fn]
    except (KeyError, TypeError):
        pass
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        found: frozenset[str] | None = frozenset()
    else:
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            found = None
        else:
            found = frozenset(n for n in ("idempotency_key", "principal") if n in params)
    try:
        _ACCEPTS[fn] = found
    except TypeError:
        pass
    return found


def call_with_runtime_params(
    fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], runtime: Mapping[str, Any]
) -> Any:
    """Call ``fn`` adding only the runtime keyword params (``idempotency_key``, ``principal``) it declares."""
    accepted = _accepted(fn)
    if accepted is None:
        return fn(*args, **kwargs, **runtime)
    if not accepted:
        return fn(*args, **kwargs)
    return fn(*args, **kwargs, **{k: v for k, v in runtime.items() if k in accepted})


@dataclass
class InMemoryEnv:
    """A local Env: in-process tool bodies or fakes, fake reasoners, a virtual clock.

    ``tools`` maps tool keys to fakes (overriding the registered body);
    ``reasoners`` maps reasoner names to fakes; both may be sync or async.
    ``seed`` turns on a seeded scheduler that perturbs completion order of
    concurrent branches (for determinism tests). ``sync_in_thread`` runs sync
    tool bodies in a worker thread so a slow body never stalls other steps.
    """

    tools: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    reasoners: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    seed: int | None = None
    sync_in_thread: bool = False
    clock: float = 0.0
    calls: list[ToolCall] = field(default_factory=list)
    _rng: random.Random | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.seed is not None:
            self._rng = random.Random(self.seed)

    async def _jitter(self) -> None:
        rng = self._rng
        if rng is not None:
            for _ in range(rng.randrange(4)):
                await asyncio.sleep(0)

    async def _invoke(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
                      runtime: Mapping[str, Any]) -> Any:
        if inspect.iscoroutinefunction(fn):
            return await call_with_runtime_params(fn, args, kwargs, runtime)
        if self.sync_in_thread:
            return await asyncio.to_thread(call_with_runtime_params, fn, args, kwargs, runtime)
        result = call_with_runtime_params(fn, args, kwargs, runtime)
        if inspect.isawaitable(result):
            return await result
        return result

    async def _attempt(self, call: ToolCall) -> Json:
        runtime: dict[str, Any] = {"idempotency_key": call.idempotency_key}
        if call.principal is not None:
            runtime["principal"] = call.principal
        fake = self.tools.get(call.key)
        if fake is not None:
            return await self._invoke(fake, (call.value,), {}, runtime)
        definition = call.definition
        if definition is None or definition.fn is None:
            msg = f"tool {call.key!r} has no local body: pass tools={{{call.key!r}: fn}} to fake it"
            raise MissingFakeError(msg)
        if definition.single:
            args: tuple[Any, ...] = (call.value,)
            kwargs: dict[str, Any] = {}
        elif not definition.params:
            args, kwargs = (), {}
        else:
            if type(call.value) is not dict:
                msg = f"tool {call.key!r} takes a record {list(definition.params)}, got {type(call.value).__name__}"
                raise TypeError(msg)
            args, kwargs = (), dict(call.value)
        rt = {}
        if definition.wants_key:
            rt["idempotency_key"] = call.idempotency_key
        if definition.wants_principal:
            rt["principal"] = call.principal
        fn = definition.fn
        if definition.is_async:
            return await fn(*args, **kwargs, **rt)
        if self.sync_in_thread:
            return await asyncio.to_thread(fn, *args, **kwargs, **rt)
        return fn(*args, **kwargs, **rt)

    async def call_tool(self, call: ToolCall) -> Json:
        """Run ``call`` with its retry policy on the virtual clock."""
        self.calls.append(call)
        await self._jitter()
        attempt = 1
        delay = call.retry_interval_s
        while True:
            try:
                if call.timeout_s is not None:
                    return await asyncio.wait_for(self._attempt(call), call.timeout_s)
                return await self._attempt(call)
            except Exception as exc:
                from composable_agents.errors import ComposableAgentsError

                if attempt >= call.max_attempts or (
                    isinstance(exc, ComposableAgentsError) and exc.non_retryable
                ):
                    raise
                attempt += 1
                await self.sleep(delay)
                delay *= call.backoff_rate

    async def invoke_reasoner(self, call: ReasonerCall) -> Json:
        """Run the fake for ``call.name`` with the prompt value."""
        fake = self.reasoners.get(call.name)
        if fake is None:
            msg = f"reasoner {call.name!r} has no fake: pass reasoners={{{call.name!r}: fn}}"
            raise MissingFakeError(msg)
        await self._jitter()
        return await self._invoke(fake, (call.value,), {}, {})

    async def gather(self, thunks: Sequence[Thunk[T]]) -> list[T]:
        """Run thunks concurrently; results in thunk order; the first failure cancels the rest."""
        if len(thunks) == 1:
            return [await thunks[0]()]
        order = list(range(len(thunks)))
        if self._rng is not None:
            self._rng.shuffle(order)
        tasks: list[asyncio.Task[T] | None] = [None] * len(thunks)
        for i in order:
            tasks[i] = asyncio.ensure_future(thunks[i]())
        started = [t for t in tasks if t is not None]
        try:
            await asyncio.gather(*started)
        except BaseException:
            for t in started:
                t.cancel()
            await asyncio.gather(*started, return_exceptions=True)
            raise
        return [t.result() for t in started]

    async def sleep(self, seconds: float) -> None:
        """Advance the virtual clock (no real waiting)."""
        if seconds > 0:
            self.clock += seconds
        await asyncio.sleep(0)

    def now(self) -> float:
        """The virtual clock."""
        return self.clock
