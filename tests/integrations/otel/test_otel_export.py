"""export_run: one span per activation under a run span, deterministic ids, errors, GenAI attributes.

Spans go to the SDK's in-memory exporter through a real ``TracerProvider``.
"""

from __future__ import annotations

from typing import Any, TypedDict

import pytest

pytest.importorskip("opentelemetry.sdk", reason="the OTel export needs the `otel` extra: pip install 'composable-agents[otel]'")

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from composable_agents import Reasoner, arr, deploy, pure, think, tool
from composable_agents.integrations.otel import OtelSink, export_run, span_id_for, trace_id_for


class Answer(TypedDict):
    text: str


@tool(effect="read", idempotent=True)
def otel_lookup(q: str) -> dict[str, str]:
    return {"q": q, "hit": "doc-1"}


@pure("otel.prompt")
def otel_prompt(hit: dict[str, str]) -> str:
    return f"answer {hit['q']} from {hit['hit']}"


@pure("otel.explode")
def otel_explode(x: Any) -> Any:
    raise ValueError("boom at step")


OTEL_REPLY = Reasoner(name="otel_reply", model="anthropic:claude-haiku-4-5", system="Answer.", reply=Answer)


def fake_reply(prompt: str) -> dict[str, Any]:
    return {"text": prompt.upper(), "__usage__": {"input_tokens": 12, "output_tokens": 5, "cost": 0.002}}


def _provider() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def _run(run_id: str = "otel-run-1") -> Any:
    flow = (otel_lookup >> otel_prompt >> think(OTEL_REPLY)).named("otel.flow")
    deployment = deploy(flow, tools=[otel_lookup], reasoners=[OTEL_REPLY])
    result = deployment.dry_run("refunds", reasoners={"otel_reply": fake_reply}, run_id=run_id)
    assert result.ok, result.detail
    return result


def test_one_span_per_activation_under_the_run_span() -> None:
    result = _run()
    provider, exporter = _provider()
    export_run(result, tracer_provider=provider)
    spans = exporter.get_finished_spans()
    events = result.projection.events
    assert len(spans) == len(events) + 1
    by_id = {s.context.span_id: s for s in spans}
    (root,) = [s for s in spans if s.parent is None]
    assert root.name.startswith("run:")
    assert root.attributes["ca.run_id"] == "otel-run-1"
    assert all(s.context.trace_id == trace_id_for("otel-run-1") for s in spans)
    for event in events:
        span = by_id[span_id_for("otel-run-1", event["activation"])]
        assert span.attributes["ca.activation"] == event["activation"]
        assert span.attributes["ca.op"] == event["op"]
        assert span.attributes["ca.shape"] == event["shape"]
        assert isinstance(span.attributes["ca.cost"], float)
        expected_parent = span_id_for("otel-run-1", event["parent"]) if event["parent"] else root.context.span_id
        assert span.parent is not None and span.parent.span_id == expected_parent
        # the event's times, in nanoseconds
        assert span.start_time == int(event["startedAt"] * 1_000_000)
        assert span.end_time == int(event["endedAt"] * 1_000_000)
        assert span.start_time <= span.end_time
    tool_span = by_id[span_id_for("otel-run-1", "$.0")]
    assert tool_span.attributes["ca.tool"] == "otel_lookup"
    assert tool_span.name == "prim:otel_lookup"


def test_reasoner_spans_follow_the_genai_conventions() -> None:
    result = _run()
    provider, exporter = _provider()
    export_run(result, tracer_provider=provider)
    (span,) = [s for s in exporter.get_finished_spans() if s.attributes.get("gen_ai.operation.name")]
    assert span.attributes["gen_ai.operation.name"] == "chat"
    assert span.attributes["gen_ai.provider.name"] == "anthropic"
    assert span.attributes["gen_ai.request.model"] == "claude-haiku-4-5"
    assert span.attributes["gen_ai.usage.input_tokens"] == 12
    assert span.attributes["gen_ai.usage.output_tokens"] == 5
    assert span.attributes["ca.cost"] == pytest.approx(0.002)


def test_exporting_twice_gives_the_same_ids() -> None:
    result = _run("otel-twice")
    ids = []
    for _ in range(2):
        provider, exporter = _provider()
        export_run(result, tracer_provider=provider)
        ids.append(sorted((s.context.trace_id, s.context.span_id, s.parent.span_id if s.parent else 0) for s in exporter.get_finished_spans()))
    assert ids[0] == ids[1]
    other = _run("otel-other")
    provider, exporter = _provider()
    export_run(other, tracer_provider=provider)
    assert {s.context.span_id for s in exporter.get_finished_spans()}.isdisjoint({i[1] for i in ids[0]})


def test_a_failed_step_has_status_error_with_its_error() -> None:
    flow = (otel_lookup >> arr("otel.explode")).named("otel.fails")
    deployment = deploy(flow, tools=[otel_lookup])
    result = deployment.dry_run("x", run_id="otel-fail")
    assert result.status == "failed"
    provider, exporter = _provider()
    export_run(result, tracer_provider=provider)
    spans = {s.attributes.get("ca.activation"): s for s in exporter.get_finished_spans()}
    failed = spans["$.1"]
    assert failed.status.status_code is StatusCode.ERROR
    assert "ValueError" in (failed.status.description or "")
    assert "boom at step" in (failed.status.description or "")
    assert spans["$.0"].status.status_code is StatusCode.UNSET
    (root,) = [s for s in exporter.get_finished_spans() if s.parent is None]
    assert root.status.status_code is StatusCode.ERROR


def test_parent_carrier_puts_the_run_under_another_span() -> None:
    result = _run("otel-parented")
    provider, exporter = _provider()
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("client-request") as outer:
        carrier: dict[str, str] = {}
        TraceContextTextMapPropagator().inject(carrier)
    export_run(result, tracer_provider=provider, parent=carrier)
    spans = exporter.get_finished_spans()
    (run_span,) = [s for s in spans if s.name.startswith("run:")]
    assert run_span.parent is not None and run_span.parent.span_id == outer.get_span_context().span_id
    assert {s.context.trace_id for s in spans} == {outer.get_span_context().trace_id}
    # a Context works as well as a carrier
    provider2, exporter2 = _provider()
    export_run(result, tracer_provider=provider2, parent=trace.set_span_in_context(outer))
    (again,) = [s for s in exporter2.get_finished_spans() if s.name.startswith("run:")]
    assert again.parent is not None and again.parent.span_id == outer.get_span_context().span_id


def test_sink_and_bare_projection() -> None:
    result = _run("otel-sink")
    provider, exporter = _provider()
    sink = OtelSink(provider)
    record = sink.put_run(result, flow="otel.flow")
    assert sink.exported == 1 and record.flow == "otel.flow"
    (root,) = [s for s in exporter.get_finished_spans() if s.parent is None]
    assert root.attributes["ca.flow"] == "otel.flow"
    provider2, exporter2 = _provider()
    export_run(result.projection, tracer_provider=provider2, run_id="otel-sink")
    assert sorted(s.context.span_id for s in exporter2.get_finished_spans()) == sorted(
        s.context.span_id for s in exporter.get_finished_spans()
    )


def test_any_other_provider_gets_spans_through_the_tracer_api() -> None:
    from opentelemetry.trace import NoOpTracerProvider

    result = _run("otel-api")
    record = export_run(result, tracer_provider=NoOpTracerProvider())
    assert record.run_id == "otel-api" and len(record.events) == len(result.projection.events)


def test_export_without_the_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    from composable_agents.errors import ComposableAgentsError

    real_import = builtins.__import__

    def no_otel(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("opentelemetry"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_otel)
    with pytest.raises(ComposableAgentsError, match=r"composable-agents\[otel\]"):
        export_run({"events": [], "values": []})
