"""One run's explanation as plain records: what the store keeps, the exporter sends and the pictures draw.

A :class:`RunRecord` is a run's projection with every value inlined into its
event (``input``/``output`` hold the values, not value-store refs), the run's
status, detail and cost, and secret-shaped values already redacted (SPEC
§22.5, by the one detector in :mod:`composable_agents.core.secrets`). :func:`run_record` builds one from whatever a caller holds: a
``Result``, a bare ``Projection``, a record, or the JSON of either.

Rejected alternative: each consumer (store, OTel, HTML) reading ``Result``
and ``Projection`` on its own. Three readers would disagree on edge cases (a
projection without a run id, a dropped parent, redaction) and each would
have to redact; one normalizer redacts once and the consumers stay small.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

from composable_agents.core.canonical import Json, JsonObject
from composable_agents.core.secrets import Redactor, redact
from composable_agents.errors import ComposableAgentsError

__all__ = ["RunRecord", "RunRecordError", "run_record"]

_EPOCH_FLOOR_MS: Final = 1e11
"""Times below this (before 1973) are a virtual clock's, not epoch milliseconds."""


class RunRecordError(ComposableAgentsError, TypeError):
    """A value that is not a run, a projection or a record of one."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRecord:
    """A run explained: status, cost and its events with values inlined (redacted).

    Every event has ``activation``, ``node``, ``op``, ``shape``, ``label``,
    ``parent``, ``causes``, ``input``, ``output``, ``cost`` and, for runs
    recorded with times, ``startedAt``/``endedAt`` (milliseconds on the Env
    clock); failed steps carry ``error`` (``{"type", "message"}``) and
    reasoner steps ``model``/``provider``/``usage``. ``started_at`` and
    ``ended_at`` are the run's own bounds in the same unit.
    """

    run_id: str
    status: str = "ok"
    flow: str | None = None
    events: tuple[JsonObject, ...] = ()
    detail: JsonObject | None = None
    cost: float = 0.0
    started_at: float | None = None
    ended_at: float | None = None
    dropped: int = 0
    usage: JsonObject | None = field(default=None)

    @property
    def epoch_times(self) -> bool:
        """True when the event times are epoch milliseconds (a durable run), not a virtual clock's."""
        return self.started_at is not None and self.started_at >= _EPOCH_FLOOR_MS

    @property
    def duration_ms(self) -> float:
        """``ended_at - started_at`` (0 without times)."""
        if self.started_at is None or self.ended_at is None:
            return 0.0
        return max(0.0, self.ended_at - self.started_at)

    def __getitem__(self, key: str) -> Any:
        """``record["events"]``, ``record["status"]``...: the fields of :meth:`to_json` by name."""
        doc = self.to_json()
        if key not in doc:
            msg = f"a run record has no field {key!r} (fields: {', '.join(doc)})"
            raise KeyError(msg)
        return doc[key]

    def by_activation(self) -> dict[str, JsonObject]:
        """Events keyed by activation id."""
        return {str(e["activation"]): e for e in self.events}

    def to_json(self) -> JsonObject:
        """The record as JSON (what :meth:`from_json` reads back)."""
        return {
            "runId": self.run_id,
            "status": self.status,
            "flow": self.flow,
            "detail": self.detail,
            "cost": self.cost,
            "startedAt": self.started_at,
            "endedAt": self.ended_at,
            "dropped": self.dropped,
            "usage": self.usage,
            "events": list(self.events),
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> RunRecord:
        """Read :meth:`to_json` output (values are taken as already redacted)."""
        events = tuple(dict(e) for e in doc.get("events") or ())
        return cls(
            run_id=str(doc.get("runId") or ""),
            status=str(doc.get("status") or "ok"),
            flow=doc.get("flow"),
            detail=doc.get("detail"),
            cost=float(doc.get("cost") or 0.0),
            started_at=_num(doc.get("startedAt")),
            ended_at=_num(doc.get("endedAt")),
            dropped=int(doc.get("dropped") or 0),
            usage=doc.get("usage"),
            events=events,
        )


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _bounds(events: Sequence[Mapping[str, Any]]) -> tuple[float | None, float | None]:
    starts = [e["startedAt"] for e in events if isinstance(e.get("startedAt"), int | float)]
    ends = [e["endedAt"] for e in events if isinstance(e.get("endedAt"), int | float)]
    return (float(min(starts)) if starts else None, float(max(ends)) if ends else None)


_CLEAN_FIELDS: Final = ("error", "gate", "detail")


_REDACTOR: Final = Redactor()


def _inline(
    events: Sequence[Mapping[str, Any]], values: Sequence[Json] | None, clean: bool, keep_values: bool = True
) -> tuple[JsonObject, ...]:
    """Events with input/output values inlined from ``values`` (refs), each distinct value redacted once."""
    def scrub(value: Any) -> Any:
        return redact(value, memo=_REDACTOR)

    by_ref: dict[int, Json] = {}

    def inlined(ref: Any) -> Json:
        found = by_ref.get(ref, _MISSING)
        if found is _MISSING:
            v = values[ref]  # type: ignore[index]  # only called when values is not None
            found = by_ref[ref] = scrub(v) if clean else v
        return found

    out: list[JsonObject] = []
    for e in events:
        if not keep_values:
            # Nothing to inline: share the event unless a field needs scrubbing (refs stay as they are).
            dirty = clean and any(name in e for name in _CLEAN_FIELDS)
            if not dirty:
                out.append(e)  # type: ignore[arg-type]
                continue
        record = dict(e)
        if keep_values and values is not None:
            record["input"] = inlined(e["input"])
            record["output"] = inlined(e["output"])
        elif keep_values and clean:
            record["input"] = scrub(e.get("input"))
            record["output"] = scrub(e.get("output"))
        if clean:
            for name in _CLEAN_FIELDS:
                if name in record:
                    record[name] = scrub(record[name])
        out.append(record)
    return tuple(out)


_MISSING: Final[Any] = object()


def _status_of(events: Sequence[Mapping[str, Any]]) -> str:
    return "failed" if any(e.get("error") and e.get("parent") is None for e in events) else "ok"


def run_record(
    run: Any,
    *,
    run_id: str | None = None,
    flow: str | None = None,
    redacted: bool = True,
    values: bool = True,
) -> RunRecord:
    """The :class:`RunRecord` of ``run``: a ``Result``, a ``Projection``, a ``RunRecord`` or their JSON.

    ``run_id``/``flow`` fill in what the input lacks (a bare projection has
    no run id: ``"run"`` is used). ``redacted=False`` keeps values verbatim
    (tests, local debugging); stores and exporters always redact.
    ``values=False`` leaves the steps' input and output as value-store refs
    (an exporter that sends no values need not inline or redact them).
    """
    if isinstance(run, RunRecord):
        if run_id is None and flow is None:
            return run
        return replace(run, run_id=run_id or run.run_id, flow=flow or run.flow)
    # A Projection redacts its own events and values when materialized (the same
    # core.secrets detector), so its records need no second pass: only inlining.
    projection = getattr(run, "projection", None)
    if projection is not None and hasattr(run, "status"):  # a Result
        events = _inline(projection.events, projection.values, False, values)
        start, end = _bounds(events)
        detail = run.detail
        return RunRecord(
            run_id=run_id or str(getattr(run, "run_id", "") or "run"),
            status=str(run.status),
            flow=flow,
            events=events,
            detail=redact(dict(detail)) if redacted and detail else (dict(detail) if detail else None),
            cost=float(getattr(run, "cost", 0.0) or projection.total_cost),
            started_at=start,
            ended_at=end,
            dropped=int(projection.dropped),
            usage=getattr(run, "usage", None),
        )
    if hasattr(run, "events") and hasattr(run, "values") and hasattr(run, "cost_by_shape"):  # a Projection
        events = _inline(run.events, run.values, False, values)
        start, end = _bounds(events)
        return RunRecord(
            run_id=run_id or "run", status=_status_of(events), flow=flow, events=events,
            cost=float(run.total_cost), started_at=start, ended_at=end, dropped=int(run.dropped),
        )
    if isinstance(run, Mapping):
        if "runId" in run:
            record = RunRecord.from_json(run)
            return run_record(record, run_id=run_id, flow=flow) if (run_id or flow) else record
        if "events" in run and "values" in run:  # Projection.to_json()
            events = _inline(run["events"], run["values"], redacted, values)
            start, end = _bounds(events)
            cost = sum(float(v) for v in (run.get("costByShape") or {}).values())
            return RunRecord(
                run_id=run_id or "run", status=_status_of(events), flow=flow, events=events,
                cost=cost, started_at=start, ended_at=end, dropped=int(run.get("dropped") or 0),
            )
    msg = (
        "`run` must be a Result, a Projection, a RunRecord or the JSON of one "
        f"(got {type(run).__name__})"
    )
    raise RunRecordError(msg)
