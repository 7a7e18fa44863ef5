"""SPEC §22.10: a newcomer's first mistakes fail loudly, where they are made.

Two tools with one key, a non-JSON tool result, a structural schema mismatch,
a raising tool's error type, the worker's ``--help``, ``Tool.name``, source
lines on the operator surface, and the ``@flow`` forms that put an arrow or a
gate on a handle.
"""

from __future__ import annotations

import datetime
import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Literal, TypedDict

import pytest

from composable_agents import call, deploy, flow, human_gate, seq, tool
from composable_agents.core.pures import Registry
from composable_agents.errors import CompositionError, DuplicateToolError, ValidationError
from composable_agents.typed import as_flow

HERE = Path(__file__).resolve()
SOURCE = HERE.read_text().splitlines()


def line_of(tag: str) -> int:
    hits = [i + 1 for i, text in enumerate(SOURCE) if text.rstrip().endswith(f"# L:{tag}")]
    assert len(hits) == 1, (tag, hits)
    return hits[0]


# -- two tools, one key -------------------------------------------------------------------


_MODULE = "from composable_agents import tool\n\n\n@tool\ndef {name}(who: str) -> str:\n    return {body!r} + who\n"


def test_two_tools_with_one_key_in_two_modules_fail_at_the_second(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "trn_mod_first.py").write_text(_MODULE.format(name="trn_greet", body="hi "))
    (tmp_path / "trn_mod_second.py").write_text(_MODULE.format(name="trn_greet", body="bye "))
    monkeypatch.syspath_prepend(str(tmp_path))
    first = importlib.import_module("trn_mod_first")
    with pytest.raises(DuplicateToolError) as info:
        importlib.import_module("trn_mod_second")
    text = str(info.value)
    assert "trn_greet" in text and "trn_mod_first.py:4" in text and "trn_mod_second.py:4" in text
    assert isinstance(info.value, ValueError) and isinstance(info.value, TypeError)
    # the first body is the one that stays registered, and deploy runs it
    assert deploy(call("trn_greet")).dry_run("ada").value == "hi ada"
    importlib.reload(first)  # re-running the same declaration (a reload, a notebook cell) is fine


def test_two_tools_with_one_key_in_one_module_fail_too() -> None:
    reg = Registry()

    @tool(name="trn_twin", registry=reg)
    def twin_a(x: str) -> str:
        return x

    with pytest.raises(DuplicateToolError, match="trn_twin"):

        @tool(name="trn_twin", registry=reg)
        def twin_b(x: str) -> str:
            return x + "!"

    @tool(name="trn_twin", registry=reg, replace=True)
    def twin_c(x: str) -> str:
        return x * 2

    assert reg.tools["trn_twin"].fn is twin_c.definition.fn


@tool(name="trn_named_key", effect="read")
def trn_named(x: str) -> str:
    return x


def test_a_tool_exposes_its_key_as_name() -> None:
    assert trn_named.name == "trn_named_key" == trn_named.key


# -- only JSON crosses a step -------------------------------------------------------------------


@tool(name="trn_when", effect="read", idempotent=True)
def trn_when(x: str) -> Any:
    return datetime.datetime(2026, 1, 2, 3, 4, 5)


@tool(name="trn_tags", effect="read", idempotent=True)
def trn_tags(x: str) -> Any:
    return {"tags": {"a", "b"}}


@pytest.mark.parametrize(("tool_", "kind"), [(trn_when, "datetime"), (trn_tags, "set")])
def test_a_non_json_tool_result_fails_that_step_in_dry_run(tool_: Any, kind: str) -> None:
    result = deploy(seq(call(tool_), call(trn_named)), tools=[tool_, trn_named], reasoners=[]).dry_run("x")
    assert result.status == "failed"
    assert result.detail is not None and result.detail["error"] == "StepTypeError"
    assert kind in result.detail["message"] and tool_.key in result.detail["message"]
    json.dumps(result.projection.to_json())  # the projection stays exportable


@tool(name="trn_boom", effect="read")
def trn_boom(x: str) -> str:
    raise ValueError(f"bad input {x!r}")


def test_a_raising_tool_reports_the_users_exception_type() -> None:
    result = deploy(call(trn_boom), tools=[trn_boom], reasoners=[]).dry_run("q")
    assert result.status == "failed"
    assert result.detail is not None
    assert result.detail["error"] == "ValueError"
    assert "bad input 'q'" in result.detail["message"]
    assert result.detail["node_id"] == "$"


# -- structural schema checks ------------------------------------------------------------------


class TrnName(TypedDict):
    name: str


class TrnPerson(TypedDict):
    name: str
    age: int


class TrnWrongName(TypedDict):
    name: int


class TrnBoxName(TypedDict):
    inner: TrnName


class TrnBoxPerson(TypedDict):
    inner: TrnPerson


@tool(name="trn_make_name", effect="read", idempotent=True)
def trn_make_name(x: str) -> TrnName:
    return {"name": x}


@tool(name="trn_make_person", effect="read", idempotent=True)
def trn_make_person(x: str) -> TrnPerson:
    return {"name": x, "age": 3}


@tool(name="trn_make_wrong", effect="read", idempotent=True)
def trn_make_wrong(x: str) -> TrnWrongName:
    return {"name": 1}


@tool(name="trn_make_box", effect="read", idempotent=True)
def trn_make_box(x: str) -> TrnBoxName:
    return {"inner": {"name": x}}


@tool(name="trn_use_person", effect="read", idempotent=True)
def trn_use_person(p: TrnPerson) -> str:
    return p["name"]


@tool(name="trn_use_name", effect="read", idempotent=True)
def trn_use_name(p: TrnName) -> str:
    return p["name"]


@tool(name="trn_use_box", effect="read", idempotent=True)
def trn_use_box(p: TrnBoxPerson) -> str:
    return p["inner"]["name"]


_SCHEMA_TOOLS = [trn_make_name, trn_make_person, trn_make_wrong, trn_make_box, trn_use_person, trn_use_name, trn_use_box]


def _schema_messages(producer: str, consumer: str) -> list[str]:
    d = deploy(seq(call(producer), call(consumer)), tools=_SCHEMA_TOOLS, reasoners=[], strict=False)
    return [x.message for x in d.diagnostics if x.code == "SCHEMA_MISMATCH"]


def test_schema_mismatch_is_structural() -> None:
    (missing,) = _schema_messages("trn_make_name", "trn_use_person")
    assert "'age'" in missing and "required" in missing
    (wrong,) = _schema_messages("trn_make_wrong", "trn_use_name")
    assert "at $.name" in wrong and "integer" in wrong and "string" in wrong
    (nested,) = _schema_messages("trn_make_box", "trn_use_box")
    assert "at $.inner" in nested and "'age'" in nested
    assert _schema_messages("trn_make_person", "trn_use_name") == []  # extra properties are fine
    assert _schema_messages("trn_make_person", "trn_use_person") == []


# -- source lines on every surface -----------------------------------------------------------------


@tool(name="trn_danger", effect="dangerous", idempotency="required")
def trn_danger(x: str) -> str:
    return x


def test_operator_diagnostics_point_at_the_users_line_by_default() -> None:
    built = trn_named >> trn_danger  # L:operator
    with pytest.raises(ValidationError) as info:
        deploy(built, tools=[trn_named, trn_danger], reasoners=[])
    assert f"--> {HERE.name}:{line_of('operator')}" in str(info.value)


# -- @flow: arrows and gates applied to handles ---------------------------------------------------


def test_a_flow_gates_a_handle_and_applies_an_arrow_to_a_handle() -> None:
    pipeline = trn_named >> trn_named

    @flow
    def guarded(q: str) -> str:
        checked = pipeline(q)
        approved = human_gate(checked, prompt="send it?", timeout_s=60)
        return trn_danger(approved)

    d = deploy(guarded, tools=[trn_named, trn_danger], reasoners=[])
    assert d.diagnostics == ()
    assert d.dry_run("hello", gates={"approved": True}).value == "hello"
    assert d.dry_run("hello").status == "timeout"


# -- the worker's --help -----------------------------------------------------------------------------


@pytest.mark.parametrize("module", ["composable_agents.temporal.serve", "composable_agents.execution.serve"])
def test_serve_help_prints_usage_without_connecting(module: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", module, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"TEMPORAL_ADDRESS": "127.0.0.1:9", "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "usage" in proc.stdout.lower() and "TEMPORAL_ADDRESS" in proc.stdout
    assert "Traceback" not in proc.stderr


class TrnUrgent(TypedDict):
    kind: Literal["urgent"]
    reason: str


class TrnRoutine(TypedDict):
    kind: Literal["routine"]
    queue: str


@tool(name="trn_page", effect="read", idempotent=True)
def trn_page(t: TrnUrgent) -> str:
    return "paged: " + t["reason"]


@tool(name="trn_enqueue", effect="read", idempotent=True)
def trn_enqueue(t: TrnRoutine) -> int:
    return len(t["queue"])


def test_a_flow_embeds_a_typed_choice_and_as_flow() -> None:
    @flow
    def route(ticket: TrnUrgent | TrnRoutine) -> str | int:
        return (trn_page | trn_enqueue)(ticket)

    @flow
    def route_as_flow(ticket: TrnUrgent | TrnRoutine) -> str | int:
        return as_flow(trn_page | trn_enqueue)(ticket)

    for f in (route, route_as_flow):
        d = deploy(f, tools=[trn_page, trn_enqueue], reasoners=[])
        assert d.dry_run({"kind": "urgent", "reason": "fire"}).value == "paged: fire"
        assert d.dry_run({"kind": "routine", "queue": "billing"}).value == 7


def test_an_arrow_outside_a_flow_body_says_how_to_run_it() -> None:
    with pytest.raises(CompositionError, match="not a function"):
        (trn_page | trn_enqueue)({"kind": "urgent", "reason": "x"})


def test_a_fake_reasoner_answering_a_set_fails_that_step() -> None:
    from composable_agents import Reasoner, think

    writer = Reasoner("trn_writer", "m")
    result = deploy(think(writer), tools=[], reasoners=[writer]).dry_run("x", reasoners={"trn_writer": lambda v: {1, 2}})
    assert result.status == "failed"
    assert result.detail is not None and result.detail["error"] == "StepTypeError" and "set" in result.detail["message"]
