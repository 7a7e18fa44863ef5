"""``.ctx`` reasoner files: parsing, errors that name the file and field, the think leaf."""

from __future__ import annotations

from pathlib import Path
from typing import TypedDict

import pytest

from composable_agents import deploy, reasoner_from_ctx
from composable_agents.authoring.dotctx import CtxError, load_reasoner, parse_ctx
from composable_agents.core.ir import Prim, ThinkStep
from composable_agents.core.pures import Registry

GOOD = """---
name: ctx_support_reply
model: anthropic:claude-haiku-4-5-20251001
temperature: 0.2
max_tokens: 400
tools: [lookup_ticket]
---
Draft one concise support reply as JSON.
Keep it short.
"""


class Reply(TypedDict):
    reply: str


def test_parse_reads_front_matter_and_system_prompt() -> None:
    r = parse_ctx(GOOD, reply=Reply)
    assert r.name == "ctx_support_reply"
    assert r.model == "anthropic:claude-haiku-4-5-20251001"
    assert r.temperature == 0.2
    assert r.max_tokens == 400
    assert r.tools == ("lookup_ticket",)
    assert r.system == "Draft one concise support reply as JSON.\nKeep it short."
    assert r.definition_json()["reply"]["required"] == ["reply"]


def test_reasoner_from_ctx_registers_and_returns_a_think_leaf(tmp_path: Path) -> None:
    path = tmp_path / "support.ctx"
    path.write_text(GOOD, encoding="utf-8")
    registry = Registry()
    leaf = reasoner_from_ctx(path, reply=Reply, registry=registry)
    node = leaf.to_ir()
    assert isinstance(node, Prim) and node.step == ThinkStep("ctx_support_reply")
    assert registry.reasoners["ctx_support_reply"].system.startswith("Draft one")
    d = deploy(leaf, tools=[], reasoners=[registry.reasoners["ctx_support_reply"]])
    assert d.dry_run("hi", reasoners={"ctx_support_reply": lambda v: {"reply": v}}).value == {"reply": "hi"}


def test_a_prompt_change_moves_the_definition_hash() -> None:
    a = parse_ctx(GOOD)
    b = parse_ctx(GOOD.replace("Keep it short.", "Be brief."))
    assert a.definition_hash() != b.definition_hash()


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("name: x\n", "starts with a '---'"),
        ("---\nname: x\nmodel: m\n", "not closed"),
        ("---\n- a\n---\nsys", "must be a mapping"),
        ("---\nname: x\nmodel: m\ncolour: red\n---\n", "unknown field 'colour'"),
        ("---\nmodel: m\n---\n", "field 'name'"),
        ("---\nname: x\nmodel: m\ntemperature: hot\n---\n", "'temperature' must be a number"),
        ("---\nname: x\nmodel: m\nmax_tokens: 0\n---\n", "'max_tokens' must be a positive integer"),
        ("---\nname: x\nmodel: m\ntools: lookup\n---\n", "'tools' must be a list"),
        ("---\nname: [\n---\n", "not valid YAML"),
    ],
)
def test_bad_files_raise_ctx_error_naming_the_problem(text: str, needle: str) -> None:
    with pytest.raises(CtxError, match="x.ctx") as info:
        parse_ctx(text, source="x.ctx")
    assert needle in str(info.value)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CtxError, match="cannot read .ctx file"):
        load_reasoner(tmp_path / "absent.ctx")
