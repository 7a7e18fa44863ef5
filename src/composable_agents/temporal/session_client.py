"""The client side of durable sessions: ``agent.open(session=..., backend="temporal")``.

:func:`open_temporal_session` starts a ``SessionWorkflow`` for a session
deployment and returns a :class:`TemporalSessionHandle` with the same surface
as the local ``SessionHandle``: ``send`` (an Update: the ack, or
``ChannelFull`` / ``IdempotencyConflict`` / ``SessionClosed``), ``events()``
(in order, ending on ``Closed``), ``state()``, ``drain()``, ``close()``.
Opening with the ``session_id`` of a running session attaches to it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from composable_agents.core.canonical import Json, JsonObject, copy_json
from composable_agents.errors import (
    ChannelFull,
    IdempotencyConflict,
    SessionClosed,
    SessionValidationError,
)
from composable_agents.execution.sessions import DEFAULT_CAPACITY, SessionEvent
from composable_agents.temporal.artifact import MAX_INLINE_ARTIFACT_BYTES, encode_artifact
from composable_agents.temporal.converter import with_ordered_json
from composable_agents.temporal.env import SESSION_WORKFLOW

if TYPE_CHECKING:
    from temporalio.client import Client, WorkflowHandle

    from composable_agents.compiler.deploy import Deployment

__all__ = ["TemporalSessionHandle", "event_from_json", "open_temporal_session", "session_input"]


def event_from_json(doc: JsonObject) -> SessionEvent:
    """A :class:`SessionEvent` from its JSON record."""
    return SessionEvent(
        kind=doc["kind"],
        seq=int(doc["seq"]),
        channel=doc.get("channel"),
        payload=doc.get("payload"),
        turn=doc.get("turn"),
        reason=doc.get("reason"),
        fatal=bool(doc.get("fatal", False)),
        index=doc.get("index"),
    )


_ERRORS = {
    "ChannelFull": None,
    "IdempotencyConflict": IdempotencyConflict,
    "SessionClosed": SessionClosed,
    "SessionValidationError": SessionValidationError,
}


def _translate(exc: BaseException) -> BaseException:
    cause: Any = getattr(exc, "cause", None)
    seen = 0
    while cause is not None and seen < 8 and getattr(cause, "type", None) not in _ERRORS:
        cause = getattr(cause, "cause", None)
        seen += 1
    etype = getattr(cause, "type", None)
    if cause is None or etype not in _ERRORS:
        text = str(exc).lower()
        if "completed" in text or "not found" in text or "already" in text:
            return SessionClosed(f"session is closed: {exc}")
        return exc
    if etype == "ChannelFull":
        details = cause.details[0] if cause.details else {}
        return ChannelFull(str(details.get("channel", "in")), int(details.get("capacity", 0)))
    return _ERRORS[etype](cause.message)  # type: ignore[misc]


def session_input(
    deployment: Deployment[Any, Any],
    *,
    capacity: int = DEFAULT_CAPACITY,
    principal: Json = None,
    continue_as_new_after: int | None = None,
    hosted: bool = False,
    max_inline_bytes: int = MAX_INLINE_ARTIFACT_BYTES,
    heartbeat_s: float | None = None,
) -> dict[str, Json]:
    """The ``SessionWorkflow`` input for a session deployment (a loop at the root)."""
    from composable_agents.agents.sessions import _inbox_of
    from composable_agents.core.ir import Loop

    root = deployment.frozen.node
    if not isinstance(root, Loop):
        msg = "a durable session runs a session deployment (scan/loop/@session at the root)"
        raise SessionValidationError(msg)
    payload: dict[str, Json] = dict(encode_artifact(deployment, hosted=hosted, max_inline_bytes=max_inline_bytes))
    payload["init"] = copy_json(root.init)
    payload["ib"] = _inbox_of(root)
    payload["cap"] = int(capacity)
    if principal is not None:
        payload["pr"] = principal
    if continue_as_new_after is not None:
        payload["cn"] = int(continue_as_new_after)
    if heartbeat_s:
        payload["hb"] = float(heartbeat_s)
    return payload


class TemporalSessionHandle:
    """A durable session on Temporal (same methods as the local ``SessionHandle``)."""

    def __init__(self, handle: WorkflowHandle[Any, Any], *, inbox: str = "in", poll_s: float = 0.05) -> None:
        self.handle = handle
        self.inbox = inbox
        self.poll_s = poll_s

    @property
    def session_id(self) -> str:
        """The workflow id."""
        return self.handle.id

    async def send(self, msg: Json, *, idempotency_key: str | None = None, channel: str | None = None) -> JsonObject:
        """Send ``msg`` (the ``send`` Update); returns the ack ``{"accepted", "channel", "position", "key"}``."""
        from temporalio.client import RPCError, WorkflowUpdateFailedError

        req: dict[str, Json] = {"msg": copy_json(msg), "key": idempotency_key}
        if channel is not None:
            req["channel"] = channel
        try:
            ack: JsonObject = await self.handle.execute_update("send", req)
        except (WorkflowUpdateFailedError, RPCError) as exc:
            raise _translate(exc) from exc
        return ack

    async def _events(self, after: int) -> JsonObject:
        doc: JsonObject = await self.handle.query("events", {"after": after})
        return doc

    async def events(self, *, after: int = 0) -> AsyncIterator[SessionEvent]:
        """Every kept event after ``after`` in order, then live ones; ends after ``Closed``."""
        cursor = after
        while True:
            doc = await self._events(cursor)
            batch = doc.get("events") or []
            for raw in batch:
                event = event_from_json(raw)
                cursor = event.seq
                yield event
                if event.is_closed:
                    return
            if not batch:
                await asyncio.sleep(self.poll_s)

    async def state(self) -> JsonObject:
        """``{"carrier", "pending": {channel: n}, "projection", "turns", "closed", "segment", "busy"}``."""
        doc: JsonObject = await self.handle.query("state")
        return doc

    def open_receives(self) -> list[str]:
        """The channel ``send`` delivers to."""
        return [self.inbox]

    async def drain(self) -> None:
        """Wait until every queued message has had its turn."""
        while True:
            st = await self.state()
            pending = st.get("pending") or {}
            if not st.get("busy") and not any(pending.values()) or st.get("closed"):
                return
            await asyncio.sleep(self.poll_s)

    async def close(self, reason: str = "closed") -> JsonObject:
        """Close after the queued turns; waits for the workflow to finish and returns its final record."""
        from temporalio.client import RPCError, WorkflowUpdateFailedError

        try:
            await self.handle.execute_update("close", {"reason": reason})
        except (WorkflowUpdateFailedError, RPCError):
            pass  # already closed: the result below says how
        out: JsonObject = await self.handle.result()
        return out


async def open_temporal_session(
    deployment: Deployment[Any, Any],
    client: Client,
    *,
    session_id: str | None = None,
    task_queue: str | None = None,
    capacity: int | None = None,
    principal: Json = None,
    continue_as_new_after: int | None = None,
    hosted: bool = False,
    poll_s: float = 0.05,
    heartbeat_s: float | None = None,
) -> TemporalSessionHandle:
    """Start (or attach to) the ``SessionWorkflow`` ``session_id`` for a session deployment."""
    from temporalio.common import WorkflowIDConflictPolicy

    check = getattr(deployment, "_check_deployable", None)
    if check is not None:  # dev-mode and blocked deployments never reach a server
        check("open")
    payload = session_input(
        deployment,
        capacity=capacity or DEFAULT_CAPACITY,
        principal=principal,
        continue_as_new_after=continue_as_new_after,
        hosted=hosted,
        heartbeat_s=heartbeat_s,
    )
    wid = session_id or f"session-{deployment.artifact_hash[7:19]}-{uuid.uuid4().hex[:12]}"
    handle = await with_ordered_json(client).start_workflow(
        SESSION_WORKFLOW,
        payload,
        id=wid,
        task_queue=task_queue or deployment.policy.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    return TemporalSessionHandle(handle, inbox=str(payload["ib"]), poll_s=poll_s)
