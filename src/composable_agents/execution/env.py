"""The ``Env`` seam and its in-memory implementation.

The interpreter never touches clocks, randomness, threads or IO: every effect
goes through an :class:`Env` — tool calls, reasoner calls, human gates,
sleeping, the clock, and concurrency over *thunks* (zero-argument callables
returning awaitables, so the Env decides when a branch starts). The Temporal
backend implements the same protocol with activities, timers and workflow
primitives; :class:`InMemoryEnv` implements it with plain asyncio and a
**virtual clock** for local runs and tests.

The protocol (what a backend must provide)::

    async def call_tool(call: ToolCall) -> Json             # owns retries + per-attempt timeouts
    async def invoke_reasoner(call: ReasonerCall) -> Json   # owns attempts + timeout
    async def gather(thunks: Sequence[Thunk[T]]) -> list[T] # all, thunk order, first failure cancels
    async def race(thunks: Sequence[Thunk[T]], *, k: int = 1,
                   hedge_s: float | None = None) -> list[tuple[int, T]]
    async def gate(request: GateRequest) -> JsonObject      # {"approved", "reason", "by", ...}
    async def sleep(seconds: float) -> None                 # a durable timer on Temporal
    def now() -> float                                      # the Env clock, seconds

``race`` settles on **success**: a failing thunk never wins and never blocks
a pending success; it returns the first ``k`` successes as ``(index, value)``
pairs sorted by thunk index — "first" by completion time on the Env clock,
ties (simultaneous successes) broken by the lower index; once ``k`` have
succeeded every other running thunk is cancelled (and awaited). When ``k``
successes can no longer happen it raises
:class:`~composable_agents.errors.AllBranchesFailed` with the errors in thunk
order. With ``hedge_s`` only thunk 0 starts at once; thunk ``i`` starts when
``hedge_s`` passed since thunk ``i-1`` started without ``k`` successes, or at
once when every started thunk has already failed. An exception whose
``ends_run`` attribute is true is not a branch failure: it cancels the rest
and propagates unchanged (gate rejections and budget refusals end the run).

``gate`` decides a human gate: it returns the decision record
``{"approved": bool, "reason": str | None, "by": str | None}``; it owns the
gate's timeout (a decision that does not arrive within ``request.timeout_s``
is ``{"approved": False, "reason": "timeout", "by": None}``) and lists open
gates by activation id while it waits (``open_gates``).
"""

from __future__ import annotations

import asyncio
import heapq
import inspect
import random
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeVar, runtime_checkable

from composable_agents.core.canonical import Json, JsonObject
from composable_agents.errors import AllBranchesFailed, ComposableAgentsError, MissingFakeError

if TYPE_CHECKING:
    from composable_agents.authoring.leaves import Reasoner, ToolDef

__all__ = [
    "DEFAULT_KEPT_CALLS",
    "AttemptTimeout",
    "Env",
    "GateRequest",
    "InMemoryEnv",
    "ReasonerCall",
    "Thunk",
    "ToolCall",
    "call_with_runtime_params",
    "current_env",
    "normalize_decision",
    "race_over",
    "virtual_sleep",
]

T = TypeVar("T")
Thunk = Callable[[], Awaitable[T]]

DEFAULT_KEPT_CALLS: Final = 10_000
"""How many recent :class:`ToolCall` records an :class:`InMemoryEnv` keeps in ``calls``."""


@dataclass(frozen=True, slots=True)
class ToolCall:
    """Everything an Env needs to run one tool call (one activation, all attempts).

    ``max_attempts`` is already clamped by the frozen contract: a call that is
    not retry-safe always has 1. ``idempotency_key`` is ``<run>:<activation>``
    and is the same on every attempt and every replay. ``on_retry(n)``, when
    set, is called before attempt ``n >= 2`` starts: the run's ledger charges
    each attempt as a call and may refuse it (``BudgetExceeded`` then ends the
    call instead of the attempt).
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
    on_retry: Callable[[int], None] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class ReasonerCall:
    """One reasoner invocation: the frozen definition and the prompt value.

    ``offer`` is set for an agent controller: ``{"tools": [{"name", "description",
    "input"}], "subflows": [...]}``, what the loop grants this round. An LLM
    that declares ``offer=`` receives it (a real model is offered those as
    provider tools); fakes that do not declare it never see it.
    """

    name: str
    node_id: str
    activation: str
    value: Json
    definition: Reasoner[Any, Any] | None
    timeout_s: float | None = None
    max_attempts: int = 1
    principal: Json = None
    offer: JsonObject | None = None
    retry_interval_s: float = 1.0
    backoff_rate: float = 2.0
    on_retry: Callable[[int], None] | None = field(default=None, compare=False, repr=False)
    """Called with the attempt number before each retry (the ledger charges it, as for tools)."""


@dataclass(frozen=True, slots=True)
class GateRequest:
    """A human gate reached at ``activation``: what the approver sees and how long they have."""

    node_id: str
    activation: str
    prompt: str
    value: Json
    timeout_s: float | None = None
    on_reject: str = "end"
    principal: Json = None

    def view(self) -> JsonObject:
        """The JSON ``gate_view`` handed to a responder."""
        return {
            "activation": self.activation,
            "node": self.node_id,
            "prompt": self.prompt,
            "input": self.value,
            "timeoutS": self.timeout_s,
            "onReject": self.on_reject,
        }


@runtime_checkable
class Env(Protocol):
    """What the interpreter asks of its backend (see the module doc for the contracts)."""

    async def call_tool(self, call: ToolCall) -> Json:
        """Run a tool call (owning retries and per-attempt timeouts)."""
        ...

    async def invoke_reasoner(self, call: ReasonerCall) -> Json:
        """Run a reasoner and return its JSON reply."""
        ...

    async def gather(self, thunks: Sequence[Thunk[T]]) -> list[T]:
        """Start every thunk, wait for all, return results in thunk order."""
        ...

    async def race(
        self, thunks: Sequence[Thunk[T]], *, k: int = 1, hedge_s: float | None = None
    ) -> list[tuple[int, T]]:
        """Settle on the first ``k`` successes; ``(index, value)`` pairs in index order."""
        ...

    async def gate(self, request: GateRequest) -> JsonObject:
        """Wait for a human decision (or the gate's timeout); return the decision record."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` on this Env's clock (a durable timer on Temporal)."""
        ...

    def now(self) -> float:
        """This Env's clock, in seconds."""
        ...


_CURRENT: ContextVar[Any] = ContextVar("composable_agents_env", default=None)
_DEPTH: ContextVar[int] = ContextVar("composable_agents_branch_depth", default=0)
_INVOKING: ContextVar[bool] = ContextVar("composable_agents_invoking", default=False)
"""True inside user code (a tool body, a fake, a gate responder) run by an InMemoryEnv."""
"""How many concurrent constructs (race, gather) enclose the running task."""


def _spawn(make: Callable[[], Awaitable[T]]) -> asyncio.Future[T]:
    """Start ``make()`` as a task one branch level deeper than the caller."""
    token = _DEPTH.set(_DEPTH.get() + 1)
    try:
        return asyncio.ensure_future(make())
    finally:
        _DEPTH.reset(token)


def current_env() -> Any:
    """The Env running the current step (``None`` outside a run)."""
    return _CURRENT.get()


async def virtual_sleep(seconds: float) -> None:
    """Sleep on the current run's Env clock: what fakes use to model latency.

    Under :class:`InMemoryEnv` this advances the virtual clock (no real
    waiting); outside a run it falls back to ``asyncio.sleep``.
    """
    env = _CURRENT.get()
    if env is None:
        await asyncio.sleep(seconds)
    else:
        await env.sleep(seconds)


def normalize_decision(decision: Any) -> JsonObject:
    """A responder's answer as a decision record (``True``/``False`` or a record with ``approved``)."""
    if type(decision) is bool:
        return {"approved": decision, "reason": None, "by": None}
    if isinstance(decision, Mapping) and type(decision.get("approved")) is bool:
        out: JsonObject = {
            "approved": decision["approved"],
            "reason": decision.get("reason"),
            "by": decision.get("by"),
        }
        for key, value in decision.items():
            out.setdefault(key, value)
        return out
    msg = f"a gate decision must be a bool or {{'approved': bool, 'reason': ..., 'by': ...}}, got {decision!r}"
    raise TypeError(msg)


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
            found = frozenset(n for n in ("idempotency_key", "principal", "offer") if n in params)
    try:
        _ACCEPTS[fn] = found
    except TypeError:
        pass
    return found


def call_with_runtime_params(
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    runtime: Mapping[str, Any],
) -> Any:
    """Call ``fn`` adding only the runtime keyword params (``idempotency_key``, ``principal``, ``offer``) it declares."""
    accepted = _accepted(fn)
    if accepted is None:
        return fn(*args, **kwargs, **runtime)
    if not accepted:
        return fn(*args, **kwargs)
    return fn(*args, **kwargs, **{k: v for k, v in runtime.items() if k in accepted})


class AttemptTimeout(ComposableAgentsError, TimeoutError):
    """One attempt exceeded its ``timeoutS`` on the Env clock."""


@dataclass
class InMemoryEnv:
    """A local Env: in-process tool bodies or fakes, fake reasoners, a virtual clock.

    ``tools`` maps tool keys to fakes (overriding the registered body);
    ``reasoners`` maps reasoner names to fakes; both may be sync or async.
    ``gates`` is a responder ``fn(gate_view) -> decision`` (sync or async; a
    ``None`` answer means no decision) or a constant decision; with none, a
    reached gate times out. ``seed`` turns on a seeded scheduler that perturbs
    start and completion order of concurrent branches (for determinism
    tests). ``sync_in_thread`` runs sync tool bodies in a worker thread so a
    slow body never stalls other steps.

    Time is virtual: :meth:`sleep` (and ``virtual_sleep`` in fakes, timeouts,
    hedge delays, gate timeouts) parks the caller on a timer queue, and the
    clock jumps to the earliest timer only once every runnable task is
    blocked — so timers fire in order, without real waiting, and work that
    happens "at the same instant" finishes before the clock moves. User code
    busy for real (a sync body in a worker thread, an async body awaiting
    real IO) holds the clock until it returns or parks on the virtual clock,
    so a virtual timeout never fires under a real call still in progress.
    """

    tools: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    reasoners: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    seed: int | None = None
    sync_in_thread: bool = False
    clock: float = 0.0
    gates: Any = None
    calls: deque[ToolCall] = field(default_factory=lambda: deque(maxlen=DEFAULT_KEPT_CALLS))
    open_gates: dict[str, JsonObject] = field(default_factory=dict)
    _rng: random.Random | None = field(default=None, init=False, repr=False)
    _timers: list[tuple[float, int, asyncio.Future[None]]] = field(
        default_factory=list, init=False, repr=False
    )
    _tseq: int = field(default=0, init=False, repr=False)
    _settle: list[tuple[int, int, asyncio.Future[None]]] = field(
        default_factory=list, init=False, repr=False
    )
    _driver: asyncio.Task[None] | None = field(default=None, init=False, repr=False)
    _threads: int = field(default=0, init=False, repr=False)
    _active: int = field(default=0, init=False, repr=False)
    _parked: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.seed is not None:
            self._rng = random.Random(self.seed)

    # -- the virtual clock ------------------------------------------------------

    def now(self) -> float:
        """The virtual clock."""
        return self.clock

    async def sleep(self, seconds: float) -> None:
        """Park on the timer queue until the virtual clock reaches ``now + seconds``."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._timers, (self.clock + seconds, self._tseq, fut))
        self._tseq += 1
        self._wake_driver()
        if not _INVOKING.get():
            await fut
            return
        self._parked += 1  # user code waiting on the virtual clock does not hold it back
        try:
            await fut
        finally:
            self._parked -= 1

    async def settle(self) -> None:
        """Return once every task runnable at the current instant is blocked (the clock does not move).

        Waiters are released one per quiet point, the most deeply nested
        first, so an inner race decides (and its branch completes) before
        the race enclosing it looks at its branches.
        """
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._settle.append((-_DEPTH.get(), self._tseq, fut))
        self._tseq += 1
        self._wake_driver()
        await fut

    def _wake_driver(self) -> None:
        if self._driver is None or self._driver.done():
            self._driver = asyncio.ensure_future(self._drive_clock())

    async def _drive_clock(self) -> None:
        loop = asyncio.get_running_loop()
        ready = getattr(loop, "_ready", None)
        quiet = 0
        while self._timers or self._settle:
            if self._threads or self._active > self._parked:
                # user code is busy for real (a thread, real IO): the virtual clock waits for it
                await asyncio.sleep(0.0005)
                continue
            await asyncio.sleep(0)
            if ready is not None:
                if ready:
                    continue
            else:  # a loop without a visible ready queue: call it idle after a few quiet turns
                quiet += 1
                if quiet < 32:
                    continue
                quiet = 0
            if self._settle:
                self._settle.sort(key=lambda w: (w[0], w[1]))
                _, _, fut = self._settle.pop(0)
                if not fut.done():
                    fut.set_result(None)
                continue
            timers = self._timers
            while timers and timers[0][2].done():  # cancelled sleepers
                heapq.heappop(timers)
            if not timers:
                break
            wake = timers[0][0]
            self.clock = max(self.clock, wake)
            while timers and timers[0][0] <= wake:
                _, _, fut = heapq.heappop(timers)
                if not fut.done():
                    fut.set_result(None)

    async def _jitter(self) -> None:
        rng = self._rng
        if rng is not None:
            for _ in range(rng.randrange(4)):
                await asyncio.sleep(0)

    async def _timed(
        self, make: Callable[[], Awaitable[T]], timeout_s: float | None, what: str
    ) -> T:
        """Run ``make()`` bounded by ``timeout_s`` on the virtual clock."""
        if timeout_s is None:
            return await make()
        task = asyncio.ensure_future(make())
        timer = asyncio.ensure_future(self.sleep(timeout_s))
        try:
            await asyncio.wait((task, timer), return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            task.cancel()
            timer.cancel()
            raise
        if task.done():
            timer.cancel()
            return task.result()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        msg = f"{what} timed out after {timeout_s}s"
        raise AttemptTimeout(msg)

    # -- effects ------------------------------------------------------------------

    async def _invoke(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        runtime: Mapping[str, Any],
    ) -> Any:
        token = _CURRENT.set(self)
        inside = _INVOKING.set(True)
        self._active += 1
        try:
            if inspect.iscoroutinefunction(fn):
                return await call_with_runtime_params(fn, args, kwargs, runtime)
            if self.sync_in_thread:
                self._threads += 1
                try:
                    return await asyncio.to_thread(
                        call_with_runtime_params, fn, args, kwargs, runtime
                    )
                finally:
                    self._threads -= 1
            result = call_with_runtime_params(fn, args, kwargs, runtime)
            if inspect.isawaitable(result):
                return await result
            return result
        finally:
            self._active -= 1
            _INVOKING.reset(inside)
            _CURRENT.reset(token)

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
        args, kwargs = definition.arguments(call.value, call.idempotency_key, call.principal)
        fn = definition.fn
        if definition.is_async:
            token = _CURRENT.set(self)
            inside = _INVOKING.set(True)
            self._active += 1
            try:
                return await fn(*args, **kwargs)
            finally:
                self._active -= 1
                _INVOKING.reset(inside)
                _CURRENT.reset(token)
        if self.sync_in_thread:
            self._threads += 1
            try:
                return await asyncio.to_thread(fn, *args, **kwargs)
            finally:
                self._threads -= 1
        return fn(*args, **kwargs)

    async def _with_retries(
        self,
        attempt: Callable[[], Awaitable[T]],
        max_attempts: int,
        interval: float,
        backoff: float,
        timeout_s: float | None,
        what: str,
        on_retry: Callable[[int], None] | None = None,
    ) -> T:
        n = 1
        delay = interval
        while True:
            try:
                return await self._timed(attempt, timeout_s, what)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if n >= max_attempts or (
                    isinstance(exc, ComposableAgentsError) and exc.non_retryable
                ):
                    raise
                n += 1
                if on_retry is not None:
                    on_retry(n)  # charged before the attempt; a refusal ends the call here
                # A provider's Retry-After (ProviderUnavailable.retry_after_s) is the wait it asked for.
                asked: object = getattr(exc, "retry_after_s", None)
                await self.sleep(float(asked) if isinstance(asked, int | float) and not isinstance(asked, bool) else delay)
                delay *= backoff

    async def call_tool(self, call: ToolCall) -> Json:
        """Run ``call``: up to ``max_attempts`` attempts with backoff, each bounded by ``timeout_s``."""
        self.calls.append(call)
        await self._jitter()
        if call.max_attempts <= 1 and call.timeout_s is None:
            return await self._attempt(call)
        return await self._with_retries(
            lambda: self._attempt(call),
            call.max_attempts,
            call.retry_interval_s,
            call.backoff_rate,
            call.timeout_s,
            f"tool {call.key!r} at {call.activation}",
            call.on_retry,
        )

    async def invoke_reasoner(self, call: ReasonerCall) -> Json:
        """Run the fake for ``call.name`` with the prompt value (attempts and timeout as for tools)."""
        fake = self.reasoners.get(call.name)
        if fake is None:
            msg = f"reasoner {call.name!r} has no fake: pass reasoners={{{call.name!r}: fn}}"
            raise MissingFakeError(msg)
        await self._jitter()
        runtime: dict[str, Any] = {"principal": call.principal} if call.principal is not None else {}
        if call.offer is not None:
            runtime["offer"] = call.offer
        if call.max_attempts <= 1 and call.timeout_s is None:
            return await self._invoke(fake, (call.value,), {}, runtime)
        return await self._with_retries(
            lambda: self._invoke(fake, (call.value,), {}, runtime),
            call.max_attempts,
            call.retry_interval_s,
            call.backoff_rate,
            call.timeout_s,
            f"reasoner {call.name!r} at {call.activation}",
            call.on_retry,
        )

    async def gate(self, request: GateRequest) -> JsonObject:
        """Ask the responder (bounded by the gate's timeout); no responder or no answer is a timeout."""
        view = request.view()
        self.open_gates[request.activation] = view
        timed_out: JsonObject = {"approved": False, "reason": "timeout", "by": None}
        try:
            responder = self.gates
            if responder is None:
                if request.timeout_s:
                    await self.sleep(request.timeout_s)
                return timed_out
            if callable(responder):

                async def ask() -> Any:
                    token = _CURRENT.set(self)
                    inside = _INVOKING.set(True)
                    self._active += 1
                    try:
                        answer = responder(view)
                        if inspect.isawaitable(answer):
                            answer = await answer
                        return answer
                    finally:
                        self._active -= 1
                        _INVOKING.reset(inside)
                        _CURRENT.reset(token)

                try:
                    answer = await self._timed(
                        ask, request.timeout_s, f"gate at {request.activation}"
                    )
                except AttemptTimeout:
                    return timed_out
            else:
                answer = responder
            if answer is None:
                if request.timeout_s:
                    await self.sleep(request.timeout_s)
                return timed_out
            return normalize_decision(answer)
        finally:
            self.open_gates.pop(request.activation, None)

    # -- concurrency over thunks ----------------------------------------------------

    async def gather(self, thunks: Sequence[Thunk[T]]) -> list[T]:
        """Run thunks concurrently; results in thunk order.

        On a failure the rest are cancelled — after every task runnable at
        that instant has settled, and the failure raised is the lowest-index
        one of that instant, so which error ends a ``par`` does not depend on
        scheduling.
        """
        if len(thunks) == 1:
            return [await thunks[0]()]
        order = list(range(len(thunks)))
        if self._rng is not None:
            self._rng.shuffle(order)
        slots: list[asyncio.Future[T] | None] = [None] * len(thunks)
        for i in order:
            slots[i] = _spawn(thunks[i])
        tasks = [t for t in slots if t is not None]
        try:
            _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            if pending:
                await self.settle()
        except BaseException:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        failed = [t for t in tasks if t.done() and not t.cancelled() and t.exception() is not None]
        if failed:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise failed[0].exception()  # type: ignore[misc]
        return [t.result() for t in tasks]

    async def race(
        self, thunks: Sequence[Thunk[T]], *, k: int = 1, hedge_s: float | None = None
    ) -> list[tuple[int, T]]:
        """Settle on success (see the module doc): the first ``k`` successes, in index order."""
        return await race_over(self, thunks, k=k, hedge_s=hedge_s)


async def _yield() -> None:
    for _ in range(8):
        await asyncio.sleep(0)


async def race_over(
    env: Any, thunks: Sequence[Thunk[T]], *, k: int = 1, hedge_s: float | None = None
) -> list[tuple[int, T]]:
    """The race contract (module doc) for any Env with ``sleep``/``now`` and asyncio tasks.

    Completion instants come from ``env.now()``; when ``env`` has a
    ``settle()`` coroutine (as :class:`InMemoryEnv` does) the race waits for
    it before choosing, so successes of one instant are ranked by index.
    ``env._rng`` (a seeded ``random.Random``), when present, shuffles the start
    order of branches launched together.
    """
    n = len(thunks)
    rng = getattr(env, "_rng", None)
    settle = getattr(env, "settle", None) or _yield
    if not 1 <= k <= n:
        msg = f"race needs 1 <= k <= {n} branches, got k={k!r}"
        raise ValueError(msg)
    index_of: dict[asyncio.Future[Any], int] = {}
    pending: set[asyncio.Future[Any]] = set()
    wins: list[tuple[float, int, T]] = []
    errors: dict[int, BaseException] = {}
    aborts: dict[int, BaseException] = {}
    nxt = 0

    def launch(count: int) -> None:
        nonlocal nxt
        batch = list(range(nxt, min(n, nxt + count)))
        nxt += len(batch)
        if rng is not None and len(batch) > 1:
            rng.shuffle(batch)
        for i in batch:
            task = _spawn(thunks[i])
            index_of[task] = i
            pending.add(task)

    def collect(task: asyncio.Future[Any]) -> None:
        pending.discard(task)
        i = index_of[task]
        if task.cancelled():
            errors[i] = asyncio.CancelledError()
            return
        exc = task.exception()
        if exc is None:
            wins.append((env.now(), i, task.result()))
        elif getattr(exc, "ends_run", False):
            aborts[i] = exc
        else:
            errors[i] = exc

    launch(n if hedge_s is None else 1)
    timer: asyncio.Future[None] | None = None
    try:
        while len(wins) < k:
            if len(wins) + len(pending) + (n - nxt) < k:
                break  # k successes are no longer possible
            if hedge_s is not None and nxt < n:
                if not pending:  # every started branch failed: hedge at once
                    if timer is not None:
                        timer.cancel()
                        timer = None
                    launch(1)
                    continue
                if timer is None:
                    timer = asyncio.ensure_future(env.sleep(hedge_s))
            waitset = set(pending)
            if timer is not None:
                waitset.add(timer)
            done, _ = await asyncio.wait(waitset, return_when=asyncio.FIRST_COMPLETED)
            if timer is not None and timer in done:
                done.discard(timer)
                timer = None
                if len(wins) < k:
                    launch(1)
            for task in sorted(done, key=index_of.__getitem__):
                collect(task)
            if aborts or len(wins) >= k:
                await settle()  # let everything of this same instant land before deciding
                for task in sorted((t for t in pending if t.done()), key=index_of.__getitem__):
                    collect(task)
                if (
                    len(wins) < k
                ):  # a run-ending error: the lowest index of this instant ends the run
                    raise aborts[min(aborts)]
    finally:
        if timer is not None:
            timer.cancel()
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
    if len(wins) >= k:
        chosen = sorted(wins, key=lambda w: (w[0], w[1]))[:k]
        return sorted(((i, v) for _, i, v in chosen), key=lambda p: p[0])
    ordered = [errors[i] for i in sorted(errors)]
    if k == 1:
        msg = f"all {n} branches failed: " + "; ".join(f"{type(e).__name__}: {e}" for e in ordered)
    else:
        msg = f"only {len(wins)} of the {k} successes needed; failures: " + "; ".join(
            f"{type(e).__name__}: {e}" for e in ordered
        )
    raise AllBranchesFailed(msg, ordered)
