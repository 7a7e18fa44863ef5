"""Projection events carry Env-clock times, failures and leaf facts (SPEC §20)."""

from __future__ import annotations

from typing import Any, TypedDict

import pytest

from composable_agents import Reasoner, arr, deploy, par, pure, think, tool
from composable_agents.execution.env import virtual_sleep
from composable_agents.execution.projection import PROJECTION_FORMAT, Recorder, error_record

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


class Reply(TypedDict):
    text: str


@tool(effect="read", idempotent=True)
async def pt_slow(q: str) -> str:
    await virtual_sleep(2.0)  # two seconds on the virtual clock
    return q.upper()


@tool(effect="read", idempotent=True)
async def pt_slower(q: str) -> str:
    await virtual_sleep(3.0)
    return q.lower()


@tool(effect="read", idempotent=True)
def pt_broken(q: str) -> str:
    raise KeyError(f"no record for {q}")


@pure("pt.join")
def pt_join(parts: list[str]) -> str:
    return "+".join(parts)


@pure("pt.explode")
def pt_explode(text: str) -> str:
    raise ZeroDivisionError("cannot divide the text")


PT_REPLY = Reasoner(name="pt_reply", model="anthropic:claude-haiku-4-5", system="Reply.", reply=Reply)


def test_events_have_virtual_times_in_milliseconds() -> None:
    d = deploy((pt_slow >> arr("std.init", key="v")).named("pt.seq"), tools=[pt_slow], mode="dev")
    result = d.dry_run("a")
    assert result.ok
    by = result.projection.by_activation()
    assert (by["$.0"]["startedAt"], by["$.0"]["endedAt"]) == (0.0, 2000.0)
    assert (by["$.1"]["startedAt"], by["$.1"]["endedAt"]) == (2000.0, 2000.0)
    # a composite node starts with its first child and ends after its last
    assert (by["$"]["startedAt"], by["$"]["endedAt"]) == (0.0, 2000.0)
    assert by["$.0"]["tool"] == "pt_slow"


def test_concurrent_branches_overlap_and_the_par_spans_them() -> None:
    d = deploy(par(pt_slow, pt_slower) >> arr("pt.join"), tools=[pt_slow, pt_slower], mode="dev")
    result = d.dry_run("Ab")
    assert result.value == "AB+ab"
    by = result.projection.by_activation()
    fast, slow, fan = by["$.0.0"], by["$.0.1"], by["$.0"]
    assert fast["startedAt"] == slow["startedAt"] == 0.0
    assert fast["endedAt"] == 2000.0 and slow["endedAt"] == 3000.0
    assert (fan["startedAt"], fan["endedAt"]) == (0.0, 3000.0)
    again = d.dry_run("Ab").projection.by_activation()
    assert {k: (e["startedAt"], e["endedAt"]) for k, e in again.items()} == {
        k: (e["startedAt"], e["endedAt"]) for k, e in by.items()
    }


def test_comparable_leaves_the_clock_out() -> None:
    d = deploy(pt_slow, tools=[pt_slow], mode="dev")
    record = d.dry_run("x").projection.comparable()["$"]
    assert "startedAt" not in record and "endedAt" not in record
    assert record["output"] == "X"


def test_a_failed_pure_has_its_event_and_its_ancestors_carry_the_error() -> None:
    d = deploy((pt_slow >> arr("pt.explode") >> arr("std.init", key="never")).named("pt.fail"), tools=[pt_slow], mode="dev")
    result = d.dry_run("a")
    assert result.status == "failed"
    by = result.projection.by_activation()
    leaf = by["$.1"]
    assert leaf["error"] == {"type": "ZeroDivisionError", "message": "cannot divide the text"}
    assert leaf["input"] is not None and result.projection.value_of(leaf["input"]) == "A"
    assert (leaf["startedAt"], leaf["endedAt"]) == (2000.0, 2000.0)
    root = by["$"]
    assert root["error"] == leaf["error"]
    assert (root["startedAt"], root["endedAt"]) == (0.0, 2000.0)
    assert "$.2" not in by  # never reached


def test_a_failed_tool_names_the_users_exception() -> None:
    d = deploy(pt_broken, tools=[pt_broken], mode="dev")
    result = d.dry_run("T-9")
    assert result.status == "failed"
    event = result.projection.by_activation()["$"]
    assert event["error"]["type"] == "KeyError"
    assert "no record for T-9" in event["error"]["message"]
    assert event["tool"] == "pt_broken"


def test_reasoner_events_carry_model_provider_and_split_usage() -> None:
    def fake(prompt: str) -> dict[str, Any]:
        return {
            "text": prompt,
            "__usage__": {"input_tokens": 30, "output_tokens": 7, "cache_read_tokens": 4, "cost": 0.0003},
        }

    d = deploy(think(PT_REPLY), reasoners=[PT_REPLY], mode="dev")
    result = d.dry_run("hi", reasoners={"pt_reply": fake})
    assert result.ok
    event = result.projection.by_activation()["$"]
    assert event["reasoner"] == "pt_reply"
    assert event["provider"] == "anthropic" and event["model"] == "claude-haiku-4-5"
    assert event["usage"]["input_tokens"] == 30 and event["usage"]["output_tokens"] == 7
    assert event["usage"]["cache_read_tokens"] == 4
    assert event["usage"]["tokens"] == 37
    assert event["cost"] == pytest.approx(0.0003)


def test_recorder_without_a_clock_records_no_times() -> None:
    from composable_agents.core.ir import Arr
    from composable_agents.execution.interpreter import Program

    program = Program(Arr(pure="std.init", args={"key": "k"}))
    rec = Recorder()
    rec.add(program.metas[0], (), 1, {"k": 1})
    (event,) = rec.projection().events
    assert "startedAt" not in event and "endedAt" not in event


def test_error_record_looks_through_wrappers() -> None:
    class AppError(Exception):
        def __init__(self, message: str, type_name: str) -> None:
            super().__init__(message)
            self.message = message
            self.type = type_name

    inner = AppError("boom", "ValueError")
    outer = RuntimeError("activity failed")
    outer.__cause__ = inner
    assert error_record(outer) == {"type": "ValueError", "message": "boom"}
    plain = RuntimeError("wrapped")
    plain.__cause__ = KeyError("k")
    assert error_record(plain) == {"type": "KeyError", "message": "'k'"}


def test_wire_format_keeps_times_and_facts() -> None:
    pytest.importorskip("temporalio")
    from composable_agents.temporal.env import decode_projection, encode_projection

    d = deploy(par(pt_slow, pt_slower) >> arr("pt.join"), tools=[pt_slow, pt_slower], mode="dev")
    result = d.dry_run("Ab")
    rec = Recorder()
    rec.restore(result.projection._raw, 0, [])
    doc = encode_projection(rec, d.program.metas)
    assert doc["f"] == PROJECTION_FORMAT
    back = decode_projection(doc, d.program.metas)

    def shape(events: list[Any]) -> list[tuple[Any, ...]]:
        return [(e["activation"], e.get("startedAt"), e.get("endedAt"), e.get("tool")) for e in events]

    assert shape(back.events) == shape(result.projection.events)


def test_a_sub_flow_call_is_timed_by_its_caller() -> None:
    from composable_agents import sub

    child = (pt_slow >> arr("std.init", key="v")).named("pt.child.v1")
    d = deploy(sub(child) >> arr("std.pluck", key="v"), tools=[pt_slow], mode="dev")
    result = d.dry_run("q")
    assert result.value == "Q"
    call = result.projection.by_activation()["$.0"]
    assert call["sub"] == "pt.child.v1"
    assert (call["startedAt"], call["endedAt"]) == (0.0, 2000.0)
