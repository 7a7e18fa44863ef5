"""``SessionStore``: what a durable session carries from one history segment to the next.

A ``SessionWorkflow`` keeps its whole state in one :class:`SessionStore`
and hands it to the next segment on continue-as-new (the store's ``segment``
is the cursor). It is plain JSON and imports nothing from temporalio:

- ``carrier``: the loop-carried value after the last completed turn;
- ``pending``: messages acked but not yet taken by a turn (in order);
- ``acks``: ``{idempotency key: [payload digest, ack]}`` — a resend with the
  same key and payload gets the original ack, a different payload is an
  ``IdempotencyConflict``; at most :data:`MAX_ACKS` newest keys are kept;
- ``events``: the newest :data:`MAX_EVENTS` events (``SessionEvent.to_json``
  records) and ``seq``, the last event number handed out (event numbers never
  restart, so a reader's cursor stays valid across segments);
- ``turns``: turns started so far (turn indexes never restart either);
- ``closing``: the reason of a requested ``close()`` (queued turns still run).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from composable_agents.core.canonical import Json, JsonObject, canonical_dumps, copy_json

__all__ = ["MAX_ACKS", "MAX_EVENTS", "SessionStore", "payload_digest"]

MAX_EVENTS: Final = 512
"""Events a session keeps (and carries across continue-as-new); older ones are dropped."""

MAX_ACKS: Final = 4096
"""Idempotency keys a session remembers (the newest ones)."""


def payload_digest(payload: Json) -> str:
    """A short, stable digest of a message payload (canonical JSON)."""
    return hashlib.sha256(canonical_dumps(payload).encode("utf-8")).hexdigest()[:32]


@dataclass(slots=True)
class SessionStore:
    """The durable state of one session (see the module doc)."""

    carrier: Json = None
    pending: list[Json] = field(default_factory=list)
    acks: dict[str, list[Any]] = field(default_factory=dict)
    events: list[JsonObject] = field(default_factory=list)
    seq: int = 0
    turns: int = 0
    segment: int = 0
    closing: str | None = None

    @classmethod
    def fresh(cls, init: Json) -> SessionStore:
        """The store of a new session whose first carrier is ``init``."""
        return cls(carrier=copy_json(init))

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> SessionStore:
        """Rebuild a store from :meth:`to_json` output."""
        return cls(
            carrier=doc.get("carrier"),
            pending=list(doc.get("pending") or []),
            acks={str(k): list(v) for k, v in (doc.get("acks") or {}).items()},
            events=list(doc.get("events") or []),
            seq=int(doc.get("seq", 0)),
            turns=int(doc.get("turns", 0)),
            segment=int(doc.get("segment", 0)),
            closing=doc.get("closing"),
        )

    def to_json(self) -> JsonObject:
        """The store as JSON (what rides into the next segment)."""
        out: JsonObject = {
            "carrier": self.carrier,
            "pending": list(self.pending),
            "acks": {k: list(v) for k, v in self.acks.items()},
            "events": list(self.events[-MAX_EVENTS:]),
            "seq": self.seq,
            "turns": self.turns,
            "segment": self.segment,
        }
        if self.closing is not None:
            out["closing"] = self.closing
        return out

    def next_segment(self) -> JsonObject:
        """:meth:`to_json` of this store advanced to the next segment."""
        doc = self.to_json()
        doc["segment"] = self.segment + 1
        return doc

    def publish(self, event: JsonObject) -> JsonObject:
        """Number ``event`` (``seq``) and append it; returns it."""
        self.seq += 1
        event["seq"] = self.seq
        self.events.append(event)
        if len(self.events) > 2 * MAX_EVENTS:
            del self.events[: len(self.events) - MAX_EVENTS]
        return event

    def events_after(self, cursor: int, limit: int = MAX_EVENTS) -> list[JsonObject]:
        """Kept events with ``seq > cursor`` (in order, at most ``limit``)."""
        out = [e for e in self.events if int(e["seq"]) > cursor]
        return out[:limit]

    def remember(self, key: str, digest: str, ack: JsonObject) -> None:
        """Record the ack of a keyed message (bounded to the newest :data:`MAX_ACKS` keys)."""
        self.acks[key] = [digest, ack]
        if len(self.acks) > MAX_ACKS:
            for old in list(self.acks)[: len(self.acks) - MAX_ACKS]:
                del self.acks[old]
