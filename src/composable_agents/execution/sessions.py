"""Sessions at run time: the local backend's turn runner and the session event stream.

:class:`SessionHandle` runs turns of a compiled session ``loop`` in memory:
``send(msg, idempotency_key=...)`` (same key and payload → the original ack;
different payload → :class:`~composable_agents.errors.IdempotencyConflict`; a
full channel → :class:`~composable_agents.errors.ChannelFull`), ``events()``
(``Emit``/``Turn``/``Error``/``Closed``, ending on ``Closed``), ``state()``,
``open_receives()`` and ``close(reason)``. :class:`TurnContext` holds the
per-turn ``recv`` take-once rule shared with the durable backend. Authoring
(``scan``/``loop``/``@session``) lives in :mod:`composable_agents.agents.sessions`;
rejected alternative: one module for both, which made the runtime import the
authoring layer.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

from composable_agents.core.canonical import Json, JsonObject, canonical_dumps, copy_json
from composable_agents.errors import (
    ChannelFull,
    IdempotencyConflict,
    SessionClosed,
    SessionValidationError,
)
from composable_agents.execution.env import InMemoryEnv

if TYPE_CHECKING:
    from composable_agents.execution.interpreter import Program

__all__ = [
    "DEFAULT_CAPACITY",
    "Closed",
    "Emit",
    "Error",
    "SessionEvent",
    "SessionHandle",
    "Turn",
    "TurnContext",
]

DEFAULT_CAPACITY: Final = 16

# -- events ------------------------------------------------------------------------------------

Kind = Literal["emit", "turn", "error", "closed"]


@dataclass(frozen=True, slots=True)
class SessionEvent:
    """One event of a session: ``emit``, ``turn`` (``started``/``done``), ``error`` or ``closed``."""

    kind: Kind
    seq: int
    channel: str | None = None
    payload: Json = None
    turn: Literal["started", "done"] | None = None
    reason: str | None = None
    fatal: bool = False
    index: int | None = None

    @property
    def is_emit(self) -> bool:
        """True for an ``emit`` event."""
        return self.kind == "emit"

    @property
    def is_turn(self) -> bool:
        """True for a ``turn`` event."""
        return self.kind == "turn"

    @property
    def is_error(self) -> bool:
        """True for an ``error`` event."""
        return self.kind == "error"

    @property
    def is_closed(self) -> bool:
        """True for the final ``closed`` event."""
        return self.kind == "closed"

    def to_json(self) -> JsonObject:
        """The event as a JSON record."""
        out: JsonObject = {"kind": self.kind, "seq": self.seq}
        for key in ("channel", "payload", "turn", "reason", "index"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.kind == "error":
            out["fatal"] = self.fatal
        return out


def Emit(seq: int, channel: str, payload: Json, index: int | None = None) -> SessionEvent:
    """An ``emit`` event."""
    return SessionEvent("emit", seq, channel=channel, payload=payload, index=index)


def Turn(seq: int, phase: Literal["started", "done"], index: int) -> SessionEvent:
    """A ``turn`` event."""
    return SessionEvent("turn", seq, turn=phase, index=index)


def Error(seq: int, reason: str, *, fatal: bool, index: int | None = None) -> SessionEvent:
    """An ``error`` event."""
    return SessionEvent("error", seq, reason=reason, fatal=fatal, index=index)


def Closed(seq: int, reason: str) -> SessionEvent:
    """The final ``closed`` event."""
    return SessionEvent("closed", seq, reason=reason)


# -- the local backend -----------------------------------------------------------------------------


class TurnContext:
    """What the channel leaves (``recv``/``emit``) see during one turn, on any backend.

    ``take`` hands the turn's message to exactly one ``recv`` on the channel it
    arrived on; backends say how ``emit`` publishes.
    """

    __slots__ = ("channel", "index", "msg", "taken")

    def __init__(self, channel: str, msg: Json, index: int) -> None:
        self.channel = channel
        self.msg = msg
        self.index = index
        self.taken = False

    def take(self, channel: str) -> Json:
        """The turn's message for a ``recv`` on ``channel`` (once per turn)."""
        if channel != self.channel or self.taken:
            msg = f"recv on {channel!r} in turn {self.index}: the turn's message arrived on {self.channel!r}"
            raise SessionValidationError(msg)
        self.taken = True
        return self.msg

    def emit(self, channel: str, payload: Json) -> None:
        """Publish ``payload`` on ``channel`` as an event of this turn."""
        raise NotImplementedError


class _TurnContext(TurnContext):
    """The local backend's turn: emits go straight to the handle's event log."""

    __slots__ = ("handle",)

    def __init__(self, handle: SessionHandle, channel: str, msg: Json, index: int) -> None:
        super().__init__(channel, msg, index)
        self.handle = handle

    def emit(self, channel: str, payload: Json) -> None:
        self.handle._publish(Emit(self.handle._next_seq(), channel, copy_json(payload), self.index))


class _SessionEnv(InMemoryEnv):
    session: _TurnContext | None = None


class SessionHandle:
    """A local, in-memory session: send messages, stream events, inspect state, close."""

    def __init__(
        self,
        program: Program,
        init: Json,
        inbox: str,
        env: _SessionEnv,
        *,
        capacity: int = DEFAULT_CAPACITY,
        session_id: str = "session",
        principal: Json = None,
        check: bool = True,
    ) -> None:
        if type(capacity) is not int or capacity < 1:
            msg = f"`capacity` must be a positive integer, got {capacity!r}"
            raise ValueError(msg)
        from composable_agents.execution.projection import Recorder

        self.session_id = session_id
        self.capacity = capacity
        self._program = program
        self._carrier: Json = copy_json(init)
        self._inbox = inbox
        self._env = env
        self._principal = principal
        self._check = check
        self._pending: deque[Json] = deque()
        self._acks: dict[str, tuple[str, JsonObject]] = {}
        self._events: list[SessionEvent] = []
        self._waiters: list[asyncio.Event] = []
        self._seq = 0
        self._turns = 0
        self._closed: str | None = None
        self._closing: str | None = None
        self._busy = False
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._recorder = Recorder()

    # -- sending ---------------------------------------------------------------------

    async def send(self, msg: Json, *, idempotency_key: str | None = None, channel: str | None = None) -> JsonObject:
        """Queue ``msg`` for a turn; returns the ack ``{"accepted", "channel", "position", "key"}``."""
        ch = channel or self._inbox
        payload = copy_json(msg)
        text = canonical_dumps(payload)
        if idempotency_key is not None:
            seen = self._acks.get(idempotency_key)
            if seen is not None:
                if seen[0] != text:
                    msg_ = f"idempotency key {idempotency_key!r} was already used with a different payload"
                    raise IdempotencyConflict(msg_)
                return dict(seen[1])
        if self._closed is not None or self._closing is not None:
            raise SessionClosed(f"session {self.session_id!r} is closed ({self._closed or self._closing})")
        if ch != self._inbox:
            msg_ = f"session {self.session_id!r} receives on {self._inbox!r}, not {ch!r}"
            raise SessionValidationError(msg_)
        if len(self._pending) >= self.capacity:
            raise ChannelFull(ch, self.capacity)
        self._pending.append(payload)
        position = self._turns + len(self._pending) - 1 + (1 if self._busy else 0)
        ack: JsonObject = {"accepted": True, "channel": ch, "position": position, "key": idempotency_key}
        if idempotency_key is not None:
            self._acks[idempotency_key] = (text, ack)
        self._ensure_running()
        self._wake.set()
        return dict(ack)

    # -- the turn loop ---------------------------------------------------------------

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _publish(self, event: SessionEvent) -> None:
        self._events.append(event)
        for waiter in self._waiters:
            waiter.set()

    async def _run(self) -> None:
        while True:
            if not self._pending:
                if self._closing is not None:
                    self._finish(self._closing)
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            msg = self._pending.popleft()
            await self._turn(msg)
            if self._closed is not None:
                return

    async def _turn(self, msg: Json) -> None:
        from composable_agents.execution.interpreter import RunState

        index = self._turns
        self._turns += 1
        self._busy = True
        self._publish(Turn(self._next_seq(), "started", index))
        ctx = _TurnContext(self, self._inbox, msg, index)
        self._env.session = ctx
        state = RunState(
            self._env,
            catalog=self._program.catalog,
            run_id=f"{self.session_id}/turn-{index}",
            principal=self._principal,
            check=self._check,
            recorder=self._recorder,
        )
        try:
            program = self._program
            # each turn runs at activation path (turn,) so projection events stay distinct
            if program.is_sync:
                carrier = program._fn(self._carrier, (index,), state)
            else:
                carrier = await program._fn(self._carrier, (index,), state)
        except SessionValidationError as exc:
            self._publish(Error(self._next_seq(), str(exc), fatal=True, index=index))
            self._finish(f"fatal: {exc}")
            return
        except Exception as exc:  # noqa: BLE001 - a failed turn is an event, not a crash
            self._publish(Error(self._next_seq(), f"{type(exc).__name__}: {exc}", fatal=False, index=index))
        else:
            self._carrier = carrier
        finally:
            self._env.session = None
            self._busy = False
        self._publish(Turn(self._next_seq(), "done", index))

    def _finish(self, reason: str) -> None:
        if self._closed is None:
            self._closed = reason
            self._pending.clear()
            self._publish(Closed(self._next_seq(), reason))

    # -- reading -------------------------------------------------------------------------

    async def events(self) -> AsyncIterator[SessionEvent]:
        """Every event from the start, then live ones; ends after ``Closed``."""
        position = 0
        waiter = asyncio.Event()
        self._waiters.append(waiter)
        try:
            while True:
                while position < len(self._events):
                    event = self._events[position]
                    position += 1
                    yield event
                    if event.is_closed:
                        return
                waiter.clear()
                await waiter.wait()
        finally:
            self._waiters.remove(waiter)

    async def state(self) -> JsonObject:
        """``{"carrier": ..., "pending": {channel: n}, "projection": ...}``."""
        return {
            "carrier": copy_json(self._carrier),
            "pending": {self._inbox: len(self._pending)},
            "projection": self._recorder.projection().to_json(),
            "turns": self._turns,
            "closed": self._closed,
        }

    def open_receives(self) -> list[str]:
        """Channels a ``recv`` is currently waiting on (empty once closed)."""
        if self._closed is not None:
            return []
        return [self._inbox]

    async def close(self, reason: str = "closed") -> None:
        """Stop after the queued turns; the event stream ends with ``Closed(reason)``."""
        if self._closed is not None:
            return
        self._closing = reason
        if self._task is None or self._task.done():
            self._finish(reason)
            return
        self._wake.set()
        await asyncio.shield(self._task)

    async def drain(self) -> None:
        """Wait until every queued message has had its turn."""
        while self._pending or self._busy:
            waiter = asyncio.Event()
            self._waiters.append(waiter)
            try:
                await waiter.wait()
            finally:
                self._waiters.remove(waiter)


