"""``SessionWorkflow``: a durable session (``Op.LOOP``) — one workflow per open session.

The input is the session's artifact (the frozen loop; inline or by hash) plus
``{"init": first carrier, "ib": inbox channel, "cap": capacity, "pr":
principal, "cn": turns per history segment, "st": a carried SessionStore}``.

- ``send`` is an **Update**: its validator rejects a message the session
  cannot take (``ChannelFull`` when ``cap`` messages are pending,
  ``IdempotencyConflict`` for a reused key with another payload,
  ``SessionClosed``, a wrong channel) without writing history; the handler
  queues it and returns the ack ``{"accepted", "channel", "position", "key"}``
  — a resend with the same key and payload returns the original ack.
- The run loop takes one message per turn and runs the loop body with the
  shared interpreter and a :class:`SessionEnv` (a ``TemporalEnv`` whose
  ``session`` is the turn): tools and reasoners are the usual activities, with
  idempotency keys ``<session id>/turn-<n>:<activation>``.
- Events (``turn`` started/done, ``emit``, ``error``, ``closed``) are numbered
  and read with the ``events`` query (``{"after": cursor}``); ``state`` gives
  ``{"carrier", "pending", "projection", "turns", "closed", "segment"}``.
- Every ``cn`` turns (or when the server suggests it) the workflow waits for
  running handlers, then continues as new carrying its :class:`SessionStore`
  (carrier, pending messages, acks, recent events, counters).
- ``close`` (an Update) lets queued turns finish, publishes ``closed`` and
  completes the workflow with the final store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Final

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from composable_agents.core.canonical import Json, JsonObject, copy_json
    from composable_agents.core.pures import check_pins
    from composable_agents.errors import ComposableAgentsError, SessionValidationError
    from composable_agents.execution.projection import Recorder
    from composable_agents.execution.sessions import TurnContext
    from composable_agents.temporal import env as _impl
    from composable_agents.temporal._trust import check_gates
    from composable_agents.temporal.artifact import LoadedArtifact
    from composable_agents.temporal.session_store import SessionStore, payload_digest

__all__ = ["DEFAULT_SESSION_CONTINUE_AFTER", "SessionEnv", "SessionRun", "SessionWorkflow", "load_session"]

DEFAULT_SESSION_CONTINUE_AFTER: Final = 100
"""Turns a ``SessionWorkflow`` runs per history segment unless the input says otherwise."""


class SessionEnv(_impl.TemporalEnv):
    """A ``TemporalEnv`` whose ``session`` is the turn in progress (read by ``recv``/``emit``)."""

    __slots__ = ("session",)

    def __init__(self, loaded: LoadedArtifact) -> None:
        super().__init__(loaded, None)
        self.session: _Turn | None = None


class _Turn(TurnContext):
    """The durable backend's turn: emits go to the session store's event log."""

    __slots__ = ("run",)

    def __init__(self, run: SessionRun, channel: str, msg: Json, index: int) -> None:
        super().__init__(channel, msg, index)
        self.run = run

    def emit(self, channel: str, payload: Json) -> None:
        self.run.store.publish({"kind": "emit", "channel": channel, "payload": copy_json(payload), "index": self.index})


_SESSIONS: dict[str, LoadedArtifact] = {}


def load_session(payload: Mapping[str, Any], ctx: Any) -> LoadedArtifact:
    """The session body prepared as a program (root id ``$.0``, as locally), cached per artifact hash."""
    from composable_agents.core.canonical import content_hash
    from composable_agents.core.ir import Node
    from composable_agents.execution.interpreter import Catalog, Program
    from composable_agents.temporal.artifact import (
        ArtifactNotHosted,
        _reasoner_from_json,
        _tool_from_json,
        artifact_json,
        check_pure_pins,
        decode_artifact,
        policy_from_json,
    )

    digest = str(payload.get("h", ""))
    doc = decode_artifact(payload)
    if doc is None:
        deployment = ctx.hosted.get(digest)
        if deployment is None:
            msg = f"session artifact {digest[:23]}... was sent by hash only, but this worker does not host it"
            raise ArtifactNotHosted(msg)
        doc = artifact_json(deployment)
    else:
        digest = content_hash(doc)
    found = _SESSIONS.get(digest)
    if found is not None:
        return found
    registry = ctx.registry
    manifest: Mapping[str, Any] = doc.get("manifest") or {}
    check_pure_pins(manifest.get("pures", {}), ctx.hashes_for(registry), registry)
    tools_doc: Mapping[str, Any] = manifest.get("tools", {})
    tools = {key: _tool_from_json(entry["definition"]) for key, entry in tools_doc.items()}
    reasoners = {name: _reasoner_from_json(d, registry) for name, d in manifest.get("reasoners", {}).items()}
    catalog = Catalog(
        registry=registry,
        tools=tools,
        reasoners=reasoners,
        subflows={ref: Node.from_json(flow) for ref, flow in manifest.get("subflows", {}).items()},
        execution_hashes={key: entry["executionHash"] for key, entry in tools_doc.items()},
    )
    flow = doc["flow"]
    if not isinstance(flow, Mapping) or flow.get("op") != "loop":
        msg = "a SessionWorkflow runs a session artifact (a loop at the root)"
        raise SessionValidationError(msg)
    program = Program(Node.from_json(flow["body"]), catalog, root_id="$.0")
    loaded = LoadedArtifact(
        hash=digest,
        program=program,
        policy=policy_from_json(doc.get("policy")),
        pins=dict(manifest.get("pures", {})),
        tool_hashes={key: entry["definitionHash"] for key, entry in tools_doc.items()},
        reasoners=reasoners,
        reasoner_hashes={n: content_hash(d) for n, d in manifest.get("reasoners", {}).items()},
        doc=doc,
        registry=registry,
        capabilities=doc.get("capabilities"),
    )
    if len(_SESSIONS) > 256:
        _SESSIONS.clear()
    _SESSIONS[digest] = loaded
    return loaded


def _reject(message: str, etype: str, **details: Any) -> ApplicationError:
    return ApplicationError(message, details, type=etype, non_retryable=True)


class SessionRun:
    """The session's live state; the workflow's update handlers and queries touch it."""

    def __init__(self, payload: Mapping[str, Any]) -> None:
        carried = payload.get("st")
        self.store = SessionStore.from_json(carried) if carried else SessionStore.fresh(payload.get("init"))
        self.inbox = str(payload.get("ib", "in"))
        self.capacity = int(payload.get("cap", 16))
        self.busy = False
        self.closed: str | None = None
        self.recorder = Recorder()

    # -- send ------------------------------------------------------------------------

    def validate_send(self, req: Mapping[str, Any]) -> None:
        """Reject (without touching history) a message this session cannot take."""
        key = req.get("key")
        msg = req.get("msg")
        if key is not None:
            seen = self.store.acks.get(str(key))
            if seen is not None:
                if seen[0] != payload_digest(msg):
                    raise _reject(
                        f"idempotency key {key!r} was already used with a different payload",
                        "IdempotencyConflict",
                    )
                return
        if self.closed is not None or self.store.closing is not None:
            raise _reject(f"session {workflow.info().workflow_id!r} is closed", "SessionClosed")
        channel = req.get("channel") or self.inbox
        if channel != self.inbox:
            raise _reject(f"this session receives on {self.inbox!r}, not {channel!r}", "SessionValidationError")
        if len(self.store.pending) >= self.capacity:
            raise _reject(
                f"channel {channel!r} is full ({self.capacity} pending); retry after a turn completes",
                "ChannelFull",
                channel=channel,
                capacity=self.capacity,
            )

    def send(self, req: Mapping[str, Any]) -> JsonObject:
        """Queue a validated message; the ack (the original one for a resent key)."""
        key = req.get("key")
        msg = req.get("msg")
        if key is not None:
            seen = self.store.acks.get(str(key))
            if seen is not None:
                return dict(seen[1])
        store = self.store
        store.pending.append(copy_json(msg))
        position = store.turns + len(store.pending) - 1
        ack: JsonObject = {"accepted": True, "channel": self.inbox, "position": position, "key": key}
        if key is not None:
            store.remember(str(key), payload_digest(msg), ack)
        return dict(ack)

    # -- reading ----------------------------------------------------------------------

    def events(self, req: Mapping[str, Any] | None) -> JsonObject:
        """``{"events": [...after the cursor], "first": oldest kept seq, "closed": bool}``."""
        after = int((req or {}).get("after", 0))
        limit = int((req or {}).get("limit", 256))
        kept = self.store.events
        return {
            "events": self.store.events_after(after, limit),
            "first": int(kept[0]["seq"]) if kept else self.store.seq + 1,
            "closed": self.closed is not None,
        }

    def state(self) -> JsonObject:
        """``{"carrier", "pending", "projection", "turns", "closed", "segment", "busy"}``."""
        return {
            "carrier": copy_json(self.store.carrier),
            "pending": {self.inbox: len(self.store.pending)},
            "projection": self.recorder.projection().to_json(),
            "turns": self.store.turns,
            "closed": self.closed,
            "segment": self.store.segment,
            "busy": self.busy,
        }

    def close(self, reason: str) -> None:
        """Request a close: queued turns still run, then ``closed``."""
        if self.closed is None and self.store.closing is None:
            self.store.closing = reason or "closed"

    def finish(self, reason: str) -> None:
        if self.closed is None:
            self.closed = reason
            self.store.pending.clear()
            self.store.publish({"kind": "closed", "reason": reason})

    # -- the turn loop -------------------------------------------------------------------

    async def turn(self, loaded: LoadedArtifact, env: SessionEnv, principal: Json) -> None:
        from composable_agents.execution.interpreter import RunState

        store = self.store
        msg = store.pending.pop(0)
        index = store.turns
        store.turns += 1
        self.busy = True
        store.publish({"kind": "turn", "turn": "started", "index": index})
        env.session = _Turn(self, self.inbox, msg, index)
        policy = loaded.policy
        state = RunState(
            env,
            catalog=loaded.program.catalog,
            run_id=f"{workflow.info().workflow_id}/turn-{index}",
            principal=principal,
            check=policy.check_types,
            recorder=self.recorder,
            strict=True,
            read_attempts=policy.read_max_attempts,
            retry_interval_s=policy.initial_interval_s,
            backoff_rate=policy.backoff_coefficient,
        )
        program = loaded.program
        try:
            if program.is_sync:
                carrier = program._fn(store.carrier, (index,), state)
            else:
                carrier = await program._fn(store.carrier, (index,), state)
        except asyncio.CancelledError:
            raise
        except SessionValidationError as exc:
            store.publish({"kind": "error", "reason": str(exc), "fatal": True, "index": index})
            self.finish(f"fatal: {exc}")
            return
        except Exception as exc:
            if _impl._is_sdk_internal(exc):
                raise
            etype, _ = _impl.failure_detail(exc)
            store.publish({"kind": "error", "reason": f"{etype}: {exc}", "fatal": False, "index": index})
        else:
            store.carrier = carrier
        finally:
            env.session = None
            self.busy = False
        store.publish({"kind": "turn", "turn": "done", "index": index})


async def run_session(payload: Mapping[str, Any], run: SessionRun) -> JsonObject:
    """The ``SessionWorkflow`` body (see the module doc)."""
    ctx = _impl.context_for(workflow.info().task_queue)
    try:
        loaded = load_session(payload, ctx)
        # As for flows (SPEC §22.4, §22.7): pins on every run, not only when the artifact was first
        # loaded in this process, and the approval check for an inline session artifact.
        check_pins(loaded.pins, loaded.registry, ctx.hashes_for(loaded.registry))
        check_gates(loaded)
    except ComposableAgentsError as exc:
        raise _impl._as_app_error(exc) from None
    env = SessionEnv(loaded)
    if payload.get("hb"):
        env.heartbeat_s = float(payload["hb"])
    principal = payload.get("pr")
    every = int(payload.get("cn", DEFAULT_SESSION_CONTINUE_AFTER) or 0)
    done = 0
    store = run.store
    while run.closed is None:
        await workflow.wait_condition(lambda: bool(store.pending) or store.closing is not None)
        if not store.pending:
            run.finish(store.closing or "closed")
            break
        if (every and done >= every) or workflow.info().is_continue_as_new_suggested():
            await workflow.wait_condition(workflow.all_handlers_finished)
            nxt = dict(payload)
            nxt.pop("init", None)
            nxt["st"] = store.next_segment()
            workflow.continue_as_new(nxt)
        await run.turn(loaded, env, principal)
        done += 1
    await workflow.wait_condition(workflow.all_handlers_finished)
    return {"st": store.to_json(), "closed": run.closed}


@workflow.defn(name="SessionWorkflow")
class SessionWorkflow:
    """One open session: ``send``/``close`` Updates, ``events``/``state`` queries."""

    @workflow.init
    def __init__(self, payload: dict[str, Any]) -> None:
        self._run = SessionRun(payload)

    @workflow.run
    async def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Run turns until closed (continuing as new every ``cn`` turns)."""
        return await run_session(payload, self._run)

    @workflow.update(name="send")
    def send(self, req: dict[str, Any]) -> dict[str, Any]:
        """Queue ``{"msg", "key"?, "channel"?}``; returns the ack."""
        return self._run.send(req)

    @send.validator
    def _validate_send(self, req: dict[str, Any]) -> None:
        self._run.validate_send(req)

    @workflow.update(name="close")
    def close(self, req: dict[str, Any]) -> None:
        """Close after the queued turns (``{"reason"}``)."""
        self._run.close(str((req or {}).get("reason") or "closed"))

    @workflow.query(name="events")
    def events(self, req: dict[str, Any] | None = None) -> dict[str, Any]:
        """Events after ``req["after"]``."""
        return self._run.events(req)

    @workflow.query(name="state")
    def state(self) -> dict[str, Any]:
        """The carrier, pending counts, projection and counters."""
        return self._run.state()
