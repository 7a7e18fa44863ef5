"""A flow that is only a stage can plan with the tools listed at deploy, within the grant."""

from __future__ import annotations

from typing import Any

from composable_agents import Reasoner, deploy, stage, tool

PLANNER = Reasoner(name="st_planner", model="m")


@tool(effect="read", idempotent=True)
def st_lookup(q: str) -> dict[str, str]:
    return {"q": q, "hit": "found"}


@tool(effect="read", idempotent=True)
def st_other(q: str) -> str:
    return q.upper()


def _plan(tool_key: str) -> Any:
    return lambda _value: {"op": "prim", "step": {"kind": "call", "tool": tool_key}}


def test_listed_tools_are_frozen_for_a_stage_only_flow() -> None:
    d = deploy(stage(PLANNER), tools=[st_lookup, st_other], reasoners=[PLANNER])
    assert set(d.manifest_json["tools"]) == {"st_lookup", "st_other"}
    result = d.dry_run("x", reasoners={"st_planner": _plan("st_lookup")})
    assert result.status == "ok", result.detail
    assert result.value == {"q": "x", "hit": "found"}


def test_ungranted_tools_stay_out_of_the_plan_surface() -> None:
    caps = {"tools": [{"name": "st_lookup", "effect": "read", "idempotency": "native"}], "reasoners": ["st_planner"]}
    d = deploy(stage(PLANNER), tools=[st_lookup, st_other], reasoners=[PLANNER], capabilities=caps)
    assert set(d.manifest_json["tools"]) == {"st_lookup"}
    result = d.dry_run("x", reasoners={"st_planner": _plan("st_other")})
    assert result.status == "plan_rejected"
    assert "PLAN_UNKNOWN_TOOL" in str(result.detail)


def test_registry_fallback_is_not_widened() -> None:
    d = deploy(stage(PLANNER), reasoners=[PLANNER])
    assert d.manifest_json["tools"] == {}


def test_every_plan_code_is_documented() -> None:
    from pathlib import Path

    from composable_agents.execution.staged import PLAN_CODES

    text = (Path(__file__).resolve().parents[2] / "docs" / "diagnostics.md").read_text(encoding="utf-8")
    assert [code for code in PLAN_CODES if f"`{code}`" not in text] == []
