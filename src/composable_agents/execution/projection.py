"""The projection: a derived, append-only, causally linked log of activations.

One event per activation (a node reached at a loop/item path), recorded on
the interpreter's hot path as a small tuple and turned into JSON records only
when read. Each record carries the node id, op, shape, parent, causes,
references into a value store for input and output, cost, and scheduling
attributes. Nothing depends on the projection for recovery: it is an
explanation, rebuilt from history on Temporal.

Memory is bounded in events and in bytes (SPEC §22.9): the recorder keeps
the most recent ``max_events`` activations and about ``max_bytes`` of their
values (``dropped`` counts the rest); a value over ``max_value_bytes`` is
recorded as an ``{"__elided__": {"type", "bytes"}}`` marker, so a loop whose
value grows every round does not keep every round's copy alive.

Scheduling attributes ride on the event of the node that scheduled:
``merge`` (``all``/``race``/``hedge``/``quorum``), ``winner`` (an index, or
the list of quorum winners), ``cancelled`` (indices of started branches that
were cancelled), ``launched`` (how many branches started), ``degraded``
(``WHOLE_SESSION`` context made a ``par``/``each`` run one branch at a
time), ``branch`` (``alt``), ``rounds`` (``iter_up_to``); leaves add
``cost``, ``usage`` (real token usage reported by a reasoner),
``approval_bypassed`` (dev mode ran an approval-required tool without a
gate), ``gate`` (a gate's decision) and ``sleep``. Activations of a
continuation segment after the first carry an ``s<n>:`` prefix. Gates open
while the run waits are listed by :meth:`Projection.pending`.

Times (SPEC §20): every event has ``startedAt``/``endedAt`` in milliseconds
on the Env clock (virtual locally, ``workflow.time()`` on Temporal, so replay
gives the same figures). The recorder reads the clock once per event, at its
end; a leaf with effects passes the time it started, and a composite node
starts when its first child did (derived when read: no clock call on the hot
path). A step that raised has its event with ``error`` (``{"type",
"message"}``, the user's exception type on every backend); its unrecorded
ancestors get events carrying the same error when the projection is read.
Static facts of a node (``tool``, ``reasoner``, ``model``, ``provider``)
ride on its :class:`NodeMeta` and cost nothing per event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Final

from composable_agents.core.canonical import Json, JsonObject
from composable_agents.core.kinds import Op, Shape
from composable_agents.core.secrets import redact
from composable_agents.execution._projection_bytes import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_VALUE_BYTES,
    ELIDED_KEY,
    ValueBudget,
    value_bytes,
)

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_EVENTS",
    "DEFAULT_MAX_VALUE_BYTES",
    "ELIDED_KEY",
    "PROJECTION_FORMAT",
    "ActivationListener",
    "NodeMeta",
    "Projection",
    "Recorder",
    "ValueStore",
    "activation_id",
    "error_record",
    "listen_activations",
    "value_bytes",
]

DEFAULT_MAX_EVENTS: Final = 10_000
"""How many activations an in-memory projection keeps by default."""


@dataclass(frozen=True, slots=True, eq=False)
class NodeMeta:
    """Static facts about one prepared node, shared by all its activations."""

    index: int
    node_id: str
    op: Op
    shape: Shape
    parent: NodeMeta | None
    prev: NodeMeta | None
    label: str
    cost_usd: float | None = None
    order: int = -1
    """Sequential completion rank within one loop/item path (descendants before ancestors).

    Set by the compiler once the node's subtree is compiled: the pre-order
    index of its last descendant, then shallower nodes after deeper ones.
    """
    facts: Mapping[str, Any] | None = None
    """Static event fields of every activation of this node (``tool``, ``reasoner``, ``model``, ``provider``)."""


def activation_id(node_id: str, acts: tuple[int, ...]) -> str:
    """``node_id`` plus the loop/item indices that reached it: ``$.1.0[3,0]``."""
    if not acts:
        return node_id
    return f"{node_id}[{','.join(map(str, acts))}]"


_Raw = tuple[NodeMeta, tuple[int, ...], Json, Json, Mapping[str, Any] | None, float | None, float | None]
"""``(meta, acts, input, output, attrs, started, ended)``; times in Env-clock seconds (``None``: unknown)."""

PROJECTION_FORMAT: Final = 2
"""Version of the projection's record format (2: ``startedAt``/``endedAt`` and failure events)."""


def error_record(exc: BaseException) -> JsonObject:
    """``{"type", "message"}`` of the user's error behind ``exc``, the same locally and on Temporal.

    Wrappers (a step failure, an activity error) are looked through to the
    innermost cause; a Temporal ``ApplicationError`` names the original
    exception type in its ``type``, which wins.
    """
    current: BaseException | None = exc
    last = exc
    for _ in range(16):
        if current is None:
            break
        kind = getattr(current, "type", None)
        if isinstance(kind, str) and kind:
            message = getattr(current, "message", None)
            return {"type": kind, "message": message if isinstance(message, str) else str(current)}
        last = current
        nxt = getattr(current, "cause", None)
        current = nxt if isinstance(nxt, BaseException) else current.__cause__
    return {"type": type(last).__name__, "message": str(last)}

ActivationListener = Callable[[NodeMeta, tuple[int, ...], "Mapping[str, Any] | None", "float | None", "float | None"], None]
"""Called with ``(meta, acts, attrs, started, ended)`` (Env-clock seconds, ``None`` when unknown) as each activation completes."""

# A context variable rather than a Recorder argument: the runners (local runs,
# sessions) build their recorders themselves, and a watcher such as ``ca run``
# must not need a new keyword threaded through every one of them.
_LISTENER: ContextVar[ActivationListener | None] = ContextVar("composable_agents_activation_listener", default=None)


@contextmanager
def listen_activations(listener: ActivationListener) -> Iterator[None]:
    """Recorders created inside the block call ``listener(meta, acts, attrs, started, ended)`` as each activation completes.

    This is how ``ca run`` draws its live trace tree. The listener runs on the
    interpreter's path, so it must be quick and must not raise.
    """
    token = _LISTENER.set(listener)
    try:
        yield
    finally:
        _LISTENER.reset(token)


class ValueStore:
    """Interns values by identity: each distinct value object gets one index into ``values``.

    Events refer to their input and output by index, so a value that flows
    through many steps unchanged is stored once.
    """

    __slots__ = ("_refs", "values")

    def __init__(self) -> None:
        self.values: list[Json] = []
        self._refs: dict[int, int] = {}

    def ref(self, value: Json) -> int:
        """The index of ``value`` (added on first sight)."""
        found = self._refs.get(id(value))
        if found is None or self.values[found] is not value:
            found = len(self.values)
            self.values.append(value)
            self._refs[id(value)] = found
        return found


class Recorder:
    """The hot-path sink: appends ``(meta, acts, input, output, attrs)`` tuples.

    Up to ``max_events`` activations are kept in arrival order. Past the bound
    the recorder keeps the ``max_events`` activations that come *last* in a
    scheduling-independent order — segment, then loop/item path, then
    sequential completion order (descendants before ancestors, see
    :attr:`NodeMeta.order`) — so what a bounded projection retains never depends on which concurrent
    branch finished first (SPEC §9); ``dropped`` counts the rest. Selection
    is batched: at most twice ``max_events`` activations are held between
    compactions.

    ``open_gates`` maps the activation id of each gate waiting for a decision
    to its view; ``marks`` records where continuation segments start.
    """

    __slots__ = (
        "_budget",
        "_buf",
        "_bytes",
        "_elided",
        "_kept",
        "_list",
        "_listener",
        "_marks",
        "_max_value",
        "_plain",
        "_segment",
        "_spilled",
        "_tick",
        "clock",
        "clock_env",
        "dropped",
        "max_bytes",
        "max_events",
        "open_gates",
    )

    def __init__(
        self,
        max_events: int = DEFAULT_MAX_EVENTS,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES,
    ) -> None:
        """Keep at most ``max_events`` activations and about ``max_bytes`` of their values.

        A value over ``max_value_bytes`` is recorded as an ``{"__elided__": ...}``
        marker (see :mod:`composable_agents.execution._projection_bytes`).
        """
        self.max_events = max_events
        self.max_bytes = max_bytes
        self._budget = ValueBudget(max_value_bytes)
        self._elided = self._budget.elided
        self._max_value = max_value_bytes
        self._bytes = 0
        self._list: list[_Raw] = []
        self._spilled = False
        self._kept: list[tuple[tuple[Any, ...], int, _Raw, int]] = []
        self._buf: list[tuple[tuple[Any, ...], int, _Raw, int]] = []
        self._marks: list[tuple[int, int]] = []
        self._segment = 0
        self._tick = 0
        self.dropped = 0
        self.open_gates: dict[str, JsonObject] = {}
        self._listener = _LISTENER.get()
        self._plain = self._listener is None
        """True while no listener, no spill and no elided value: :meth:`add` then only appends."""
        self.clock: Callable[[], float] | None = None
        """The Env clock (seconds) events are timed on; the first ``RunState`` bound to this recorder sets it."""
        self.clock_env: Any = None
        """An Env whose ``clock`` attribute *is* its time (``InMemoryEnv``): read directly, no call per event."""

    def open_gate(self, activation: str, view: JsonObject) -> None:
        """A gate at ``activation`` now waits for a decision."""
        self.open_gates[activation] = view

    def close_gate(self, activation: str) -> None:
        """The gate at ``activation`` was decided (or its branch ended)."""
        self.open_gates.pop(activation, None)

    def start_segment(self, segment: int) -> None:
        """Events from now on belong to continuation segment ``segment``."""
        self._segment = segment
        if not self._spilled:
            self._marks.append((self.dropped + len(self._list), segment))

    def add(
        self,
        meta: NodeMeta,
        acts: tuple[int, ...],
        value_in: Json,
        value_out: Json,
        attrs: Mapping[str, Any] | None = None,
        started: float | None = None,
    ) -> None:
        """Record one activation that ends now; ``started`` is when it began (Env clock), if it waited on effects."""
        env = self.clock_env
        if env is not None:
            ended = env.clock
        else:
            clock = self.clock
            ended = clock() if clock is not None else None
        kind = type(value_out)
        if kind is str or kind is dict or kind is list:  # bytes are bounded too (SPEC §22.9)
            if self._listener is not None:
                self._listener(meta, acts, attrs, started, ended)
            self._add_sized(meta, acts, value_in, value_out, attrs, started, ended, kind is str)
            if self._elided:
                self._plain = False
            return
        if self._plain:
            # The hot path (a scalar output, arrival order, nothing elided yet): one append.
            events = self._list
            events.append((meta, acts, value_in, value_out, attrs, started, ended))
            if len(events) > self.max_events:
                self._spill()
            return
        if self._listener is not None:
            self._listener(meta, acts, attrs, started, ended)
        if self._elided:
            value_in = self._budget.as_input(value_in)
        self._append((meta, acts, value_in, value_out, attrs, started, ended))

    def _add_sized(
        self,
        meta: NodeMeta,
        acts: tuple[int, ...],
        value_in: Json,
        value_out: Json,
        attrs: Mapping[str, Any] | None,
        started: float | None,
        ended: float | None,
        is_str: bool,
    ) -> None:
        """:meth:`add` for a ``str``/``dict``/``list`` output: measured, maybe elided, charged to the byte budget."""
        if is_str:  # O(1): no walk
            nbytes = len(value_out) + 2
            if nbytes > self._max_value:
                value_out, nbytes = self._budget.sized(value_out)
        else:
            value_out, nbytes = self._budget.sized(value_out)
        if self._elided:
            value_in = self._budget.as_input(value_in)
        raw = (meta, acts, value_in, value_out, attrs, started, ended)
        if not self._spilled:
            self._list.append(raw)
            self._bytes += nbytes
            if self._bytes > self.max_bytes or len(self._list) > self.max_events:
                self._spill()
            return
        self._append(raw, nbytes)

    def fail(
        self,
        meta: NodeMeta,
        acts: tuple[int, ...],
        value_in: Json,
        exc: BaseException,
        started: float | None = None,
    ) -> None:
        """Record the activation of a step that raised ``exc`` (its event carries ``error``)."""
        self.add(meta, acts, value_in, None, {"error": error_record(exc)}, started)

    def _size_of(self, value: Json) -> int:
        """Bytes charged for a recorded value (re-measured once when the recorder spills)."""
        kind = type(value)
        if kind is str or kind is dict or kind is list:
            return min(value_bytes(value, self._max_value), self._max_value + 1)
        return 0

    def _append(self, raw: _Raw, nbytes: int = 0) -> None:
        if not self._spilled:
            if nbytes:
                self._bytes += nbytes
            self._list.append(raw)
            if len(self._list) > self.max_events or self._bytes > self.max_bytes:
                self._spill()
            return
        self._tick += 1
        buf = self._buf
        buf.append(((self._segment, raw[1], raw[0].order), self._tick, raw, nbytes))
        if nbytes:
            self._bytes += nbytes
            if self._bytes > 2 * self.max_bytes:
                self._compact()
                return
        if len(buf) >= self.max_events:
            self._compact()

    def _spill(self) -> None:
        """Switch from arrival order to the bounded, scheduling-independent retention."""
        segments = _segment_of(len(self._list), self.dropped, self._marks)
        size = self._size_of
        self._buf = [
            ((seg, raw[1], raw[0].order), i, raw, size(raw[3]))
            for i, (raw, seg) in enumerate(zip(self._list, segments, strict=True))
        ]
        self._tick = len(self._list)
        self._list = []
        self._spilled = True
        self._plain = False
        self._compact()

    def _compact(self) -> None:
        # Batched selection: arrivals are nearly sorted, so this sort is close to linear.
        items = self._kept + self._buf
        items.sort()
        start = max(len(items) - self.max_events, 0)
        if self._bytes:  # only when sized values were recorded: a flow of numbers pays nothing here
            # The byte budget: drop the earliest (in the same order) until the rest fits,
            # always keeping the last activation.
            total = sum(item[3] for item in items[start:])
            while total > self.max_bytes and start < len(items) - 1:
                total -= items[start][3]
                start += 1
            self._bytes = total
        if start:
            self.dropped += start
            del items[:start]
        self._kept = items
        self._buf = []

    def snapshot(self) -> tuple[list[_Raw], list[tuple[int, int]]]:
        """The retained activations and their segment marks, computed together."""
        if not self._spilled:
            return list(self._list), list(self._marks)
        self._compact()
        kept = self._kept
        raw = [item[2] for item in kept]
        marks: list[tuple[int, int]] = []
        last = None
        for i, item in enumerate(kept):
            seg = item[0][0]
            if seg != last:
                marks.append((self.dropped + i, seg))
                last = seg
        return raw, marks if len(marks) > 1 or (marks and marks[0][1] != 0) else []

    @property
    def events(self) -> list[_Raw]:
        """The retained activations (arrival order, or the bounded order once past the limit)."""
        return self.snapshot()[0]

    @property
    def marks(self) -> list[tuple[int, int]]:
        """``(position, segment)`` where each continuation segment starts among the retained events."""
        return self.snapshot()[1]

    def restore(self, raw: Iterable[_Raw], dropped: int, marks: Iterable[tuple[int, int]]) -> None:
        """Continue recording after a carried projection (continue-as-new)."""
        for mark in marks:
            self._marks.append(mark)
            self._segment = mark[1]
        self.dropped = dropped
        for item in raw:
            self._append(item)

    def projection(self) -> Projection:
        """Freeze what was recorded into a :class:`Projection`."""
        raw, marks = self.snapshot()
        return Projection(raw, self.dropped, open_gates=dict(self.open_gates), marks=marks)


def _segment_of(n: int, dropped: int, marks: list[tuple[int, int]]) -> list[int]:
    """The segment number of each of ``n`` events at global positions ``dropped + i``."""
    out: list[int] = []
    ordered = sorted(marks)
    j = -1
    for i in range(n):
        g = dropped + i
        while j + 1 < len(ordered) and ordered[j + 1][0] <= g:
            j += 1
        out.append(ordered[j][1] if j >= 0 else 0)
    return out


class Projection:
    """A read-only view of a run's activations, materialized on demand."""

    __slots__ = ("_events", "_raw", "_values", "dropped", "marks", "open_gates")

    def __init__(
        self,
        raw: list[_Raw],
        dropped: int = 0,
        *,
        open_gates: Mapping[str, JsonObject] | None = None,
        marks: list[tuple[int, int]] | None = None,
    ) -> None:
        self._raw = raw
        self.dropped = dropped
        self.open_gates: dict[str, JsonObject] = dict(open_gates or {})
        self.marks = list(marks or [])
        self._events: list[JsonObject] | None = None
        self._values: list[Json] | None = None

    def _segments(self) -> list[str]:
        """The activation-id prefix of every raw event (``""`` in the first segment)."""
        if not self.marks:
            return [""] * len(self._raw)
        return [f"s{seg}:" if seg else "" for seg in _segment_of(len(self._raw), self.dropped, self.marks)]

    def __len__(self) -> int:
        return len(self._raw)

    def _materialize(self) -> None:
        store = ValueStore()
        ref = store.ref
        events: list[JsonObject] = []
        prefixes = self._segments()
        # Earliest start among each activation's children (seconds): a composite node starts with them.
        first: dict[str, float] = {}
        failures: list[tuple[NodeMeta, tuple[int, ...], str, JsonObject]] = []
        for (meta, acts, v_in, v_out, attrs, started, ended), pre in zip(self._raw, prefixes, strict=True):
            parent = meta.parent
            act = pre + activation_id(meta.node_id, acts)
            parent_act = pre + activation_id(parent.node_id, _trim(parent, acts)) if parent is not None else None
            causes: list[str] = []
            if meta.prev is not None:
                causes.append(pre + activation_id(meta.prev.node_id, acts))
            elif parent_act is not None:
                causes.append(parent_act)
            event: JsonObject = {
                "activation": act,
                "node": meta.node_id,
                "op": str(meta.op),
                "shape": str(meta.shape),
                "label": meta.label,
                "parent": parent_act,
                "causes": causes,
                "input": ref(v_in),
                "output": ref(v_out),
                "cost": meta.cost_usd if meta.cost_usd is not None else 0.0,
            }
            if meta.facts:
                event.update(meta.facts)
            if attrs:
                event.update(redact(dict(attrs)))
                if "error" in attrs:
                    failures.append((meta, acts, pre, event))
            if ended is not None:
                begin = started if started is not None else ended
                child = first.pop(act, None)
                if child is not None and child < begin:
                    begin = child
                event["startedAt"] = _ms(begin)
                event["endedAt"] = _ms(ended)
                if parent_act is not None:
                    known = first.get(parent_act)
                    if known is None or begin < known:
                        first[parent_act] = begin
            events.append(event)
        if failures:
            _failed_ancestors(events, failures, first, ref)
        self._events = events
        # SPEC §22.5: what a projection shows, stores or exports never holds a credential verbatim
        # (a tool that fetched a page with a token in it); the run's own value is untouched.
        self._values = [redact(v) for v in store.values]

    @property
    def events(self) -> list[JsonObject]:
        """Every recorded activation as a JSON record (completion order)."""
        if self._events is None:
            self._materialize()
        assert self._events is not None
        return self._events

    @property
    def values(self) -> list[Json]:
        """The value store: ``input``/``output`` fields of events index into it."""
        if self._values is None:
            self._materialize()
        assert self._values is not None
        return self._values

    def by_activation(self) -> dict[str, JsonObject]:
        """Events keyed by activation id (the comparison key for determinism)."""
        return {e["activation"]: e for e in self.events}

    def value_of(self, ref: int) -> Json:
        """The value stored under ``ref``."""
        return self.values[ref]

    def cost_by_shape(self) -> dict[str, float]:
        """Summed cost of leaf activations per shape of their node."""
        out: dict[str, float] = {}
        for raw in self._raw:
            meta, attrs = raw[0], raw[4]
            cost = attrs.get("cost", meta.cost_usd) if attrs else meta.cost_usd
            if cost:
                shape = str(meta.shape)
                out[shape] = out.get(shape, 0.0) + float(cost)
        return out

    @property
    def total_cost(self) -> float:
        """The summed cost of every recorded activation."""
        return sum(self.cost_by_shape().values())

    def pending(self) -> list[str]:
        """Activation ids of gates waiting for a decision (none once a local run has ended)."""
        return sorted(self.open_gates)

    def comparable(self) -> dict[str, JsonObject]:
        """Events keyed by activation with values inlined: what determinism tests compare.

        Times are left out: they are on each backend's own clock (virtual
        seconds locally, epoch milliseconds on Temporal), so two backends
        agree on everything else but never on them.
        """
        out: dict[str, JsonObject] = {}
        values = self.values
        for event in self.events:
            record = dict(event)
            record.pop("startedAt", None)
            record.pop("endedAt", None)
            record["input"] = values[event["input"]]
            record["output"] = values[event["output"]]
            out[event["activation"]] = record
        return out

    def to_json(self) -> JsonObject:
        """``{"events": [...], "values": [...], "costByShape": {...}, "dropped": n}``."""
        return {
            "events": self.events,
            "values": self.values,
            "costByShape": self.cost_by_shape(),
            "pending": self.pending(),
            "dropped": self.dropped,
        }

    def spans(self) -> list[JsonObject]:
        """OTel-ready span records: stable names ``op:label``, parent links by activation.

        Names use the op and the step label (tool key, reasoner name, pure
        name), never ids or hashes, so they stay stable across deploys;
        scheduling attributes become ``ca.<name>`` span attributes. For real
        OpenTelemetry spans use ``integrations.otel.export_run``.
        """
        spans: list[JsonObject] = []
        for e in self.events:
            attributes: JsonObject = {
                "ca.node": e["node"],
                "ca.shape": e["shape"],
                "ca.cost": e["cost"],
            }
            for key in _SPAN_ATTRS:
                if key in e:
                    attributes[f"ca.{key}"] = e[key]
            spans.append(
                {
                    "name": f"{e['op']}:{e['label']}",
                    "spanId": e["activation"],
                    "parentSpanId": e["parent"],
                    "startTimeMs": e.get("startedAt"),
                    "endTimeMs": e.get("endedAt"),
                    "attributes": attributes,
                }
            )
        return spans

    @classmethod
    def merge(cls, parts: Iterable[Projection]) -> Projection:
        """One projection holding every event of ``parts``; part ``i`` becomes segment ``i``."""
        raw: list[_Raw] = []
        dropped = 0
        marks: list[tuple[int, int]] = []
        gates: dict[str, JsonObject] = {}
        for seg, part in enumerate(parts):
            marks.append((len(raw), seg))
            raw.extend(part._raw)
            dropped += part.dropped
            gates.update(part.open_gates)
        return cls(raw, 0, open_gates=gates, marks=marks if len(marks) > 1 else None)._with_dropped(
            dropped
        )

    def _with_dropped(self, dropped: int) -> Projection:
        shifted = [(g + dropped, seg) for g, seg in self.marks]
        return Projection(self._raw, dropped, open_gates=self.open_gates, marks=shifted)


_SPAN_ATTRS: Final = (
    "merge",
    "winner",
    "cancelled",
    "launched",
    "degraded",
    "branch",
    "rounds",
    "usage",
    "approval_bypassed",
    "gate",
    "sleep",
    "sub",
)


_INDEXING: Final = frozenset({Op.EACH, Op.ITER_UP_TO, Op.APP})
"""Ops whose children run at one more loop/item/round index than the op itself."""


def _ms(seconds: float) -> float:
    """Env-clock seconds as the milliseconds events carry (microsecond precision)."""
    return round(seconds * 1000.0, 3)


def _failed_ancestors(
    events: list[JsonObject],
    failures: list[tuple[NodeMeta, tuple[int, ...], str, JsonObject]],
    first: dict[str, float],
    ref: Callable[[Json], int],
) -> None:
    """Events for the unrecorded ancestors of failed steps: the failure passed through them.

    An ancestor that recorded its own event (a ``race`` that absorbed a
    failed branch) ends the chain. Each synthesized event carries the failed
    step's error, starts with its earliest recorded child and ends with the
    failure.
    """
    seen = {str(e["activation"]) for e in events}
    nothing = ref(None)
    for meta, acts, pre, failed in failures:
        error = failed["error"]
        ended = failed.get("endedAt")
        node, path = meta, acts
        while node.parent is not None:
            parent = node.parent
            path = _trim(parent, path)
            act = pre + activation_id(parent.node_id, path)
            if act in seen:
                break
            seen.add(act)
            grand = parent.parent
            event: JsonObject = {
                "activation": act,
                "node": parent.node_id,
                "op": str(parent.op),
                "shape": str(parent.shape),
                "label": parent.label,
                "parent": pre + activation_id(grand.node_id, _trim(grand, path)) if grand is not None else None,
                "causes": [],
                "input": nothing,
                "output": nothing,
                "cost": 0.0,
                "error": error,
            }
            if ended is not None:
                begin = first.get(act)
                event["startedAt"] = _ms(begin) if begin is not None else ended
                event["endedAt"] = ended
                if grand is not None and begin is not None:
                    key = str(event["parent"])
                    known = first.get(key)
                    if known is None or begin < known:
                        first[key] = begin
            events.append(event)
            node = parent


def _trim(parent: NodeMeta, acts: tuple[int, ...]) -> tuple[int, ...]:
    # A child of an ``each``/``iter_up_to`` gets one more index than its parent.
    # An agent's (``app``) steps carry the round index the same way.
    if parent.op in _INDEXING and acts:
        return acts[:-1]
    return acts
