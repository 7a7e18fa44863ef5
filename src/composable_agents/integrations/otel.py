"""Export a run's projection to OpenTelemetry: one span per activation under a run span.

:func:`export_run` turns a finished run (a ``Result``, a ``Projection``, a
stored :class:`~composable_agents.integrations.runs.RunRecord`) into spans:
the run span is the root, each activation's span hangs under its parent
activation's, times are the event's ``startedAt``/``endedAt``, a failed step
has status ``ERROR`` with its error, and reasoner spans follow the GenAI
semantic conventions. Trace and span ids are derived from the run id and the
activation id (BLAKE2b), so exporting the same run twice gives the same ids
and a backend deduplicates instead of showing the run twice.

With the SDK's ``TracerProvider`` (the usual case) finished spans are built
directly and handed to the provider's span processors: there is no live span
to start and end, so an event costs a few microseconds and the ids are ours.
Any other provider gets the spans through the tracer API (ids then come
from that provider).

Durable runs: put our spans under temporalio's ``TracingInterceptor`` spans
by passing ``parent=`` — an OpenTelemetry ``Context`` or a W3C carrier
(``{"traceparent": ...}``). :func:`~composable_agents.integrations.store.ingest`
does this by itself: it reads the interceptor's ``_tracer-data`` header from
the workflow's start event, so the run span sits under the client's
``StartWorkflow`` span in the same trace.

Rejected alternative: emitting spans live from the interpreter. Workflows
must not do IO (a replay would emit again), and the projection already
holds everything a span needs; exporting after the fact is replay-safe and
costs the hot path nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from composable_agents.errors import ComposableAgentsError
from composable_agents.integrations.runs import RunRecord, run_record

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider

__all__ = ["OtelSink", "export_run", "span_attributes", "span_id_for", "trace_id_for"]

_EXTRA_HINT: Final = "the OpenTelemetry export needs the `otel` extra: pip install 'composable-agents[otel]'"
_SCOPE: Final = "composable_agents"
_MS: Final = 1_000_000  # nanoseconds per millisecond

_GENAI_PROVIDERS: Final = {"anthropic": "anthropic", "openai": "openai", "google": "gcp.gemini", "gemini": "gcp.gemini"}


def _require_otel() -> Any:
    try:
        from opentelemetry import trace
    except ImportError as exc:
        raise ComposableAgentsError(_EXTRA_HINT) from exc
    return trace


def trace_id_for(run_id: str) -> int:
    """The 128-bit trace id of run ``run_id`` (never 0)."""
    digest = hashlib.blake2b(f"ca-trace\x00{run_id}".encode(), digest_size=16).digest()
    return int.from_bytes(digest, "big") or 1


def span_id_for(run_id: str, activation: str | None) -> int:
    """The 64-bit span id of ``activation`` in run ``run_id`` (``None``: the run span; never 0)."""
    key = f"ca-run\x00{run_id}" if activation is None else f"ca-span\x00{run_id}\x00{activation}"
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big") or 1


def _attr(value: Any) -> Any:
    """An OTel attribute value: primitives as is, anything else as compact JSON."""
    if isinstance(value, str | bool | int | float):
        return value
    import json

    return json.dumps(value, separators=(",", ":"), default=str)


def _provider_name(event: Mapping[str, Any]) -> str | None:
    provider = event.get("provider")
    if not provider:
        model = event.get("model")
        if isinstance(model, str) and ":" in model:
            provider = model.split(":", 1)[0]
    if not isinstance(provider, str):
        return None
    return _GENAI_PROVIDERS.get(provider, provider)


def _model_name(event: Mapping[str, Any]) -> str | None:
    model = event.get("model")
    if isinstance(model, str):
        return model.split(":", 1)[1] if ":" in model and model.split(":", 1)[0] in _GENAI_PROVIDERS else model
    return None


_CA_KEYS: Final = ("merge", "winner", "cancelled", "launched", "degraded", "branch", "rounds", "sub", "sleep", "approval_bypassed")
_USAGE_KEYS: Final = (
    ("input_tokens", "gen_ai.usage.input_tokens"),
    ("output_tokens", "gen_ai.usage.output_tokens"),
    ("cache_read_tokens", "gen_ai.usage.cache_read.input_tokens"),
    ("cache_write_tokens", "gen_ai.usage.cache_creation.input_tokens"),
)


def span_attributes(event: Mapping[str, Any]) -> dict[str, Any]:
    """The ``ca.*`` (and, for reasoner steps, ``gen_ai.*``) attributes of one event."""
    cost = event.get("cost")
    attrs: dict[str, Any] = {
        "ca.activation": event["activation"],
        "ca.node": event.get("node", ""),
        "ca.op": event.get("op", ""),
        "ca.shape": event.get("shape", ""),
        "ca.cost": float(cost) if cost else 0.0,
    }
    tool = event.get("tool")
    if type(tool) is str:
        attrs["ca.tool"] = tool
    for key in _CA_KEYS:
        if key in event:
            attrs[f"ca.{key}"] = _attr(event[key])
    if type(event.get("reasoner")) is str or "usage" in event or "model" in event:
        attrs["gen_ai.operation.name"] = "chat"
        attrs["ca.reasoner"] = event.get("reasoner", event.get("label", ""))
        provider = _provider_name(event)
        if provider:
            attrs["gen_ai.provider.name"] = provider
        model = _model_name(event)
        if model:
            attrs["gen_ai.request.model"] = model
        usage = event.get("usage")
        if isinstance(usage, Mapping):
            for ours, theirs in _USAGE_KEYS:
                if type(usage.get(ours)) is int:
                    attrs[theirs] = usage[ours]
            if type(usage.get("tokens")) is int:
                attrs["ca.tokens"] = usage["tokens"]
    return attrs


def _parent_context(parent: Any) -> Any:
    """The span context to hang the run span under (``None``: a new trace)."""
    if parent is None:
        return None
    trace = _require_otel()
    from opentelemetry.context import Context

    # A Context is itself a Mapping: test for it before treating a mapping as a W3C carrier.
    if isinstance(parent, Mapping) and not isinstance(parent, Context):
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        parent = TraceContextTextMapPropagator().extract(carrier=dict(parent))
    ctx = trace.get_current_span(parent).get_span_context()
    return ctx if ctx.is_valid else None


def export_run(
    result_or_projection: Any,
    *,
    tracer_provider: TracerProvider | None = None,
    parent: Any = None,
    run_id: str | None = None,
    flow: str | None = None,
) -> RunRecord:
    """Export one run as spans to ``tracer_provider`` (default: the global provider); returns the exported record.

    ``result_or_projection``: a ``Result``, a ``Projection``, a stored
    ``RunRecord`` or the JSON of one (values are redacted first). ``parent``:
    an OpenTelemetry ``Context`` or W3C carrier to put the run span under
    (for instance temporalio's ``StartWorkflow`` span); without it the run
    starts its own trace with id :func:`trace_id_for`. ``run_id``/``flow``
    fill in what a bare projection lacks.
    """
    trace = _require_otel()
    record = run_record(result_or_projection, run_id=run_id, flow=flow, values=False)
    provider = tracer_provider if tracer_provider is not None else trace.get_tracer_provider()
    processor = getattr(provider, "_active_span_processor", None)
    parent_ctx = _parent_context(parent)
    if processor is not None and hasattr(provider, "resource"):
        _export_sdk(record, provider, processor, parent_ctx)
    else:
        _export_api(record, provider, parent_ctx)
    return record


def _times(record: RunRecord) -> tuple[float, float]:
    start = record.started_at if record.started_at is not None else 0.0
    end = record.ended_at if record.ended_at is not None else start
    return start, end


def _export_sdk(record: RunRecord, provider: Any, processor: Any, parent_ctx: Any) -> None:
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope
    from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

    scope = InstrumentationScope(_SCOPE)
    resource = provider.resource
    flags = TraceFlags(TraceFlags.SAMPLED)
    run_id = record.run_id
    trace_id = parent_ctx.trace_id if parent_ctx is not None else trace_id_for(run_id)
    run_ctx = SpanContext(trace_id, span_id_for(run_id, None), is_remote=False, trace_flags=flags)
    t0, t1 = _times(record)
    base = hashlib.blake2b(f"ca-span\x00{run_id}\x00".encode(), digest_size=8)
    events = record.events
    known = {str(e["activation"]) for e in events}
    contexts: dict[str, Any] = {}
    ok_status = Status(StatusCode.UNSET)
    spans: list[Any] = []
    for e in events:
        act = str(e["activation"])
        h = base.copy()  # == span_id_for(run_id, act), without re-hashing the run id per span
        h.update(act.encode())
        ctx = SpanContext(trace_id, int.from_bytes(h.digest(), "big") or 1, is_remote=False, trace_flags=flags)
        contexts[act] = ctx
    for e in events:
        act = str(e["activation"])
        parent = e.get("parent")
        parent_span = contexts[parent] if isinstance(parent, str) and parent in known and parent != act else run_ctx
        error = e.get("error")
        status = ok_status
        if error:
            message = error.get("message", "") if isinstance(error, Mapping) else str(error)
            etype = error.get("type", "") if isinstance(error, Mapping) else ""
            status = Status(StatusCode.ERROR, f"{etype}: {message}" if etype else str(message))
        began = e.get("startedAt")
        start = t0 if began is None else float(began)
        ended = e.get("endedAt")
        end = start if ended is None else float(ended)
        spans.append(
            ReadableSpan(
                name=f"{e.get('op')}:{e.get('label')}",
                context=contexts[act],
                parent=parent_span,
                resource=resource,
                attributes=span_attributes(e),
                kind=SpanKind.CLIENT if "tool" in e or "reasoner" in e else SpanKind.INTERNAL,
                status=status,
                start_time=int(start * _MS),
                end_time=int(end * _MS),
                instrumentation_scope=scope,
            )
        )
    run_attrs: dict[str, Any] = {"ca.run_id": run_id, "ca.status": record.status, "ca.cost": record.cost}
    if record.flow:
        run_attrs["ca.flow"] = record.flow
    if record.dropped:
        run_attrs["ca.dropped"] = record.dropped
    run_status = ok_status
    if record.status != "ok":
        detail = record.detail or {}
        run_status = Status(StatusCode.ERROR, f"{record.status}: {detail.get('error', '')} {detail.get('message', '')}".strip())
    spans.append(
        ReadableSpan(
            name=f"run:{record.flow or run_id}",
            context=run_ctx,
            parent=parent_ctx,
            resource=resource,
            attributes=run_attrs,
            kind=SpanKind.INTERNAL,
            status=run_status,
            start_time=int(t0 * _MS),
            end_time=int(t1 * _MS),
            instrumentation_scope=scope,
        )
    )
    on_end = processor.on_end
    for span in spans:
        on_end(span)


def _export_api(record: RunRecord, provider: Any, parent_ctx: Any) -> None:
    """Any provider: live spans through the tracer API (the provider picks the ids)."""
    from opentelemetry import trace
    from opentelemetry.trace import NonRecordingSpan, Status, StatusCode

    tracer = provider.get_tracer(_SCOPE)
    t0, t1 = _times(record)
    root_ctx = trace.set_span_in_context(NonRecordingSpan(parent_ctx)) if parent_ctx is not None else None
    run_span = tracer.start_span(f"run:{record.flow or record.run_id}", context=root_ctx, start_time=int(t0 * _MS))
    run_span.set_attribute("ca.run_id", record.run_id)
    run_span.set_attribute("ca.status", record.status)
    opened: dict[str, Any] = {}
    # Parents start before children: walk events in start order (ties: parents first, by depth).
    index = {str(e["activation"]): e for e in record.events}

    def depth(e: Mapping[str, Any]) -> int:
        n, p = 0, e.get("parent")
        while isinstance(p, str) and p in index and n < 10_000:
            n, p = n + 1, index[p].get("parent")
        return n

    ordered = sorted(record.events, key=lambda e: (float(e.get("startedAt", t0)), depth(e)))
    for e in ordered:
        parent = e.get("parent")
        host = opened.get(parent) if isinstance(parent, str) else None
        ctx = trace.set_span_in_context(host if host is not None else run_span)
        span = tracer.start_span(
            f"{e.get('op')}:{e.get('label')}", context=ctx, attributes=span_attributes(e),
            start_time=int(float(e.get("startedAt", t0)) * _MS),
        )
        error = e.get("error")
        if error:
            message = error.get("message", "") if isinstance(error, Mapping) else str(error)
            span.set_status(Status(StatusCode.ERROR, str(message)))
        opened[str(e["activation"])] = span
    for e in record.events:
        opened[str(e["activation"])].end(end_time=int(float(e.get("endedAt", t0)) * _MS))
    if record.status != "ok":
        run_span.set_status(Status(StatusCode.ERROR, record.status))
    run_span.end(end_time=int(t1 * _MS))


class OtelSink:
    """A sink for :func:`~composable_agents.integrations.store.ingest`/``follow`` that exports each run.

    ``put_run(result, flow=..., parent=...)`` calls :func:`export_run` on
    ``tracer_provider`` (default: the global one).
    """

    def __init__(self, tracer_provider: TracerProvider | None = None) -> None:
        self.tracer_provider = tracer_provider
        self.exported = 0

    def put_run(self, result: Any, *, flow: str | None = None, parent: Any = None) -> RunRecord:
        """Export one run (see :func:`export_run`)."""
        record = export_run(result, tracer_provider=self.tracer_provider, parent=parent, flow=flow)
        self.exported += 1
        return record
