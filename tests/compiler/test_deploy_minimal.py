"""Tests for the minimal deploy: freeze, resolution diagnostics, artifact hash, dry_run."""

from __future__ import annotations

import re
import warnings
from typing import Any

import pytest

from composable_agents import (
    ExecutionPolicy,
    Reasoner,
    arr,
    call,
    deploy,
    each,
    pure,
    sub,
    think,
    tool,
)
from composable_agents.compiler.deploy import DevModeWarning
from composable_agents.compiler.freeze import execution_hash
from composable_agents.core.ir import Node
from composable_agents.core.kinds import Shape
from composable_agents.errors import FreezeError, RunError, ValidationError


@pure("dm.inc")
def inc(x: int) -> int:
    return x + 1


@tool(name="dm_read", effect="read")
def dm_read(x: int) -> int:
    return x * 3


@tool(name="dm_write")
def dm_write(x: int) -> int:
    return x


HEX = re.compile(r"^sha256:[0-9a-f]{64}$")
R = Reasoner("dm_r", "model-x")


def codes(exc: ValidationError) -> set[str]:
    return {d.code for d in exc.diagnostics}


def test_freeze_binds_calls_and_pins_pures() -> None:
    d = deploy(inc >> call(dm_read), tools=[dm_read], reasoners=[])
    step = d.flow_json["steps"][1]["step"]
    assert step["tool"] == "dm_read"
    assert step["bind"] == execution_hash(dm_read.definition)
    assert HEX.match(step["bind"])
    assert d.manifest_json["pures"] == {"dm.inc": inc.definition.source_hash}
    assert set(d.manifest_json["tools"]) == {"dm_read"}
    assert d.manifest_json["tools"]["dm_read"]["executionHash"] == step["bind"]
    assert HEX.match(d.artifact_hash)
    assert Node.from_json(d.flow_json).to_json() == d.flow_json


def test_artifact_hash_is_stable_and_content_sensitive() -> None:
    flow = inc >> call(dm_read)
    one = deploy(flow, tools=[dm_read], reasoners=[])
    two = deploy(inc >> call(dm_read), tools=[dm_read], reasoners=[])
    assert one.artifact_hash == two.artifact_hash
    assert deploy(call(dm_read) >> inc, tools=[dm_read], reasoners=[]).artifact_hash != one.artifact_hash
    other_policy = deploy(flow, tools=[dm_read], reasoners=[], policy=ExecutionPolicy(max_parallel=2))
    assert other_policy.artifact_hash != one.artifact_hash


def test_unresolved_names_are_all_reported() -> None:
    flow = call("dm_missing_tool") >> think("dm_missing_r") >> arr("dm.missing_pure") >> sub("dm.nope.v1")
    with pytest.raises(ValidationError) as info:
        deploy(flow, tools=[], reasoners=[])
    assert {"UNRESOLVED_CALL", "UNRESOLVED_REASONER", "UNKNOWN_PURE", "UNRESOLVED_SUBFLOW"} <= codes(
        info.value
    )
    text = str(info.value)
    assert "dm_missing_tool" in text and "dm_missing_r" in text and "$.0" in text


def test_tools_argument_says_which_tools_exist() -> None:
    with pytest.raises(ValidationError) as info:
        deploy(call(dm_read), tools=[dm_write], reasoners=[])
    assert codes(info.value) == {"UNRESOLVED_CALL"}


def test_two_tools_with_one_key_are_an_error() -> None:
    from composable_agents.core.pures import Registry

    @tool(name="dm_dup", registry=Registry())
    def first(x: int) -> int:
        return x

    @tool(name="dm_dup", registry=Registry())
    def second(x: int) -> int:
        return -x

    with pytest.raises(FreezeError, match="dm_dup"):
        deploy(call("dm_dup"), tools=[first, second], reasoners=[])


def test_non_strict_deployment_carries_diagnostics_and_refuses_to_run() -> None:
    d = deploy(call("dm_missing_tool"), tools=[], reasoners=[], strict=False)
    assert {x.code for x in d.blocking} == {"UNRESOLVED_CALL"}
    with pytest.raises(ValidationError):
        d.dry_run(1)


def test_dev_mode_warns_and_runs_with_a_prod_gap() -> None:
    with pytest.warns(DevModeWarning):
        d = deploy(inc >> call("dm_missing_tool"), tools=[], reasoners=[], mode="dev")
    assert {x.code for x in d.prod_gap} == {"UNRESOLVED_CALL"}
    assert "UNRESOLVED_CALL" in d.prod_gap_summary()
    result = d.dry_run(1, tools={"dm_missing_tool": lambda x: x * 7})
    assert result.value == 14


def test_clean_strict_deploy_emits_no_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d = deploy(inc, tools=[], reasoners=[])
    assert d.prod_gap == () and d.diagnostics == ()


def test_result_fields() -> None:
    d = deploy(each(inc >> call(dm_read)), tools=[dm_read], reasoners=[])
    result = d.dry_run([1, 2], run_id="my-run")
    assert result.status == "ok" and result.ok
    assert result.value == [6, 9]
    assert result.run_id == "my-run"
    assert result.detail is None
    assert len(result.projection) == 1 + 2 * 3


def test_failed_run_value_raises_run_error() -> None:
    def boom(x: int) -> int:
        raise ValueError("nope")

    d = deploy(call(dm_write), tools=[dm_write], reasoners=[])
    result = d.dry_run(1, tools={"dm_write": boom})
    assert result.status == "failed"
    assert result.detail is not None and result.detail["error"] == "ValueError"  # the user's type (SPEC §22.10)
    with pytest.raises(RunError, match="failed"):
        _ = result.value


def test_write_tools_get_one_attempt_and_read_tools_retry() -> None:
    attempts: dict[str, int] = {"dm_read": 0, "dm_write": 0}

    def flaky(key: str) -> Any:
        def body(x: int) -> int:
            attempts[key] += 1
            if attempts[key] < 3:
                raise ConnectionError("transient")
            return x

        return body

    ok = deploy(call(dm_read), tools=[dm_read], reasoners=[]).dry_run(1, tools={"dm_read": flaky("dm_read")})
    assert ok.status == "ok" and attempts["dm_read"] == 3
    bad = deploy(call(dm_write), tools=[dm_write], reasoners=[]).dry_run(1, tools={"dm_write": flaky("dm_write")})
    assert bad.status == "failed" and attempts["dm_write"] == 1


def test_shapes_and_reasoners_of_a_deployment() -> None:
    from composable_agents import Contract, iter_up_to

    child = iter_up_to(2, inc).named("dm.child.v1")
    d = deploy(think(R) >> sub(child, Contract.of(Shape.FEEDBACK)), tools=[], reasoners=[R])
    assert d.surface_shape is Shape.PIPELINE
    assert d.closed_shape is Shape.FEEDBACK
    assert "dm.child.v1" in d.manifest_json["subflows"]
    assert d.manifest_json["reasoners"]["dm_r"]["model"] == "model-x"
    assert d.dry_run(1, reasoners={"dm_r": lambda v: v + 1}).value == 4


def test_explicit_empty_tool_and_reasoner_lists_mean_none_exist() -> None:
    think(R)  # registered in the default registry
    with pytest.raises(ValidationError) as tools_info:
        deploy(call(dm_read), tools=[], reasoners=[])
    assert "UNRESOLVED_CALL" in codes(tools_info.value)
    with pytest.raises(ValidationError) as reasoners_info:
        deploy(think("dm_r"), tools=[], reasoners=[])
    assert "UNRESOLVED_REASONER" in codes(reasoners_info.value)
