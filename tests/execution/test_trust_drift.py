"""SPEC §22.4: local runs check pure pins and tool definition hashes before the first step."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from composable_agents import arr, deploy, seq, tool
from composable_agents.core.pures import DEFAULT_REGISTRY, Registry
from composable_agents.errors import PureDriftError, ToolDefinitionMismatch

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def test_pure_replaced_after_deploy_is_drift_in_dry_run() -> None:
    name = f"trust.drift.{uuid.uuid4().hex[:6]}"
    ran: list[str] = []

    def v1(s: str) -> str:
        ran.append("v1")
        return s + "!"

    def v2(s: str) -> str:
        ran.append("v2")
        return s + "?"

    DEFAULT_REGISTRY.register_pure(name, v1)
    deployment = deploy(arr(name))
    assert deployment.dry_run("a").value == "a!"
    DEFAULT_REGISTRY.register_pure(name, v2, replace=True)
    with pytest.raises(PureDriftError, match=name):
        deployment.dry_run("a")
    with pytest.raises(PureDriftError):
        import asyncio

        asyncio.run(deployment.arun("a"))
    assert ran == ["v1"]  # checked before the first step: neither body ran again
    again = deploy(arr(name))  # redeploying against the current code is the fix
    assert again.dry_run("a").value == "a?"


def test_tool_replaced_after_deploy_is_a_definition_mismatch() -> None:
    reg = Registry()

    @tool(name="trust_drift_tool", effect="read", registry=reg)
    def first(x: Any) -> Any:
        return "first"

    deployment = deploy(seq(first), registry=reg)
    assert deployment.dry_run(1).value == "first"

    def second(x: Any) -> Any:
        return "second"

    reg.tools.pop("trust_drift_tool")
    tool(name="trust_drift_tool", effect="write", registry=reg)(second)
    with pytest.raises(ToolDefinitionMismatch, match="trust_drift_tool"):
        deployment.dry_run(1)
    # A fake for the tool replaces its body on purpose: no drift check for it.
    assert deployment.dry_run(1, tools={"trust_drift_tool": lambda x: "fake"}).value == "fake"


def test_pure_decorator_replace_after_deploy_is_drift() -> None:
    from composable_agents import pure

    name = f"trust.drift.deco.{uuid.uuid4().hex[:6]}"

    @pure(name)
    def first(s: str) -> str:
        return s + "1"

    deployment = deploy(first)
    assert deployment.dry_run("a").value == "a1"

    @pure(name, replace=True)
    def second(s: str) -> str:
        return s + "2"

    with pytest.raises(PureDriftError, match="pure drift"):
        deployment.dry_run("a")
    assert deploy(second).dry_run("a").value == "a2"
