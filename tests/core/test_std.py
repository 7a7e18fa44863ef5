"""One test per std pure body (SPEC §14), plus their registration."""

from __future__ import annotations

from typing import Any

import pytest

from composable_agents.core.pures import DEFAULT_REGISTRY, Registry
from composable_agents.core.std import STD_NAMES, STD_PURES
from composable_agents.errors import StepTypeError


def run(name: str, value: Any, **args: Any) -> Any:
    return STD_PURES[name].fn(value, **args)


def test_the_family_is_complete_and_pinned() -> None:
    assert set(STD_NAMES) == {
        "std.merge", "std.pluck", "std.init", "std.assign", "std.collect", "std.pack", "std.unpack",
        "std.bind", "std.each_pack", "std.matches", "std.expect", "std.branch_predicate",
        "std.branch_selector", "std.continue_with",
    }
    for name in STD_NAMES:
        pdef = STD_PURES[name]
        assert pdef.std and pdef.name == name
        assert pdef.source_hash.startswith("sha256:") and len(pdef.source_hash) == 71
    assert len({STD_PURES[n].source_hash for n in STD_NAMES}) == len(STD_NAMES)
    # reachable through any registry without registration
    assert Registry().pure("std.merge") is STD_PURES["std.merge"]
    assert DEFAULT_REGISTRY.has_pure("std.pluck")


def test_merge_pair_right_wins_and_keeps_insertion_order() -> None:
    out = run("std.merge", [{"a": 1, "b": 2}, {"b": 3, "c": 4}])
    assert out == {"a": 1, "b": 3, "c": 4}
    assert list(out) == ["a", "b", "c"]
    assert run("std.merge", ({"x": 1}, {})) == {"x": 1}
    with pytest.raises(ValueError, match="std.merge"):
        run("std.merge", [{"a": 1}])
    with pytest.raises(TypeError, match="std.merge"):
        run("std.merge", [{"a": 1}, 2])


def test_merge_fields_of_an_env_record() -> None:
    env = {"left": {"a": 1, "b": 1}, "right": {"b": 2}, "other": {"z": 0}}
    assert run("std.merge", env, fields=["left", "right"]) == {"a": 1, "b": 2}
    assert run("std.merge", env, fields=["right", "left"]) == {"b": 1, "a": 1}


def test_pluck() -> None:
    assert run("std.pluck", {"a": [1], "b": 2}, key="a") == [1]
    with pytest.raises(KeyError, match="std.pluck"):
        run("std.pluck", {"a": 1}, key="zz")
    with pytest.raises(TypeError):
        run("std.pluck", [1], key="a")


def test_init() -> None:
    assert run("std.init", [1, 2], key="items") == {"items": [1, 2]}
    assert run("std.init", None, key="k") == {"k": None}


def test_assign() -> None:
    env = {"a": 1, "b": 2}
    out = run("std.assign", [env, "x"], key="b")
    assert out == {"a": 1, "b": "x"}
    assert env == {"a": 1, "b": 2}
    assert run("std.assign", [{}, [1]], key="new") == {"new": [1]}
    with pytest.raises(ValueError, match="std.assign"):
        run("std.assign", [env], key="b")


def test_collect() -> None:
    out = run("std.collect", [{"keep": 0, "x": 9}, 1, 2], fields=["x", "y"])
    assert out == {"keep": 0, "x": 1, "y": 2}
    with pytest.raises(ValueError, match="std.collect"):
        run("std.collect", [{}, 1], fields=["x", "y"])


def test_pack_selectors() -> None:
    value = {"name": "n", "age": 3}
    fields = {
        "who": {"field": "name"},
        "all": {"input": True},
        "version": {"const": {"v": [1]}},
    }
    assert run("std.pack", value, fields=fields) == {"who": "n", "all": value, "version": {"v": [1]}}
    assert run("std.pack", 5, fields={"x": {"input": True}}) == {"x": 5}
    with pytest.raises(KeyError, match="std.pack"):
        run("std.pack", value, fields={"x": {"field": "missing"}})
    with pytest.raises(ValueError, match="std.pack"):
        run("std.pack", value, fields={"x": {"weird": 1}})


def test_unpack() -> None:
    packed = {"a": 1, "b": 2, "c": 3}
    assert run("std.unpack", packed, fields=["a", "c"]) == {"a": 1, "c": 3}
    assert run("std.unpack", packed, fields={"x": "a"}) == {"x": 1}
    with pytest.raises(KeyError, match="std.unpack"):
        run("std.unpack", packed, fields=["z"])


def test_bind() -> None:
    assert run("std.bind", {"a": 1}, consts={"b": 2, "c": [3]}) == {"a": 1, "b": 2, "c": [3]}
    with pytest.raises(ValueError) as info:
        run("std.bind", {"b": 0, "a": 0, "z": 0}, consts={"b": 1, "a": 1, "y": 1})
    assert str(info.value) == "std.bind key collision: a, b"


def test_each_pack() -> None:
    env = {"docs": ["d1", "d2"], "lang": "en", "other": 1}
    out = run("std.each_pack", env, items="docs", item="doc", fields=["lang"], consts={"v": 1})
    assert out == [{"doc": "d1", "lang": "en", "v": 1}, {"doc": "d2", "lang": "en", "v": 1}]
    assert run("std.each_pack", {"docs": []}, items="docs", item="doc") == []
    assert run("std.each_pack", {"xs": [1]}, items="xs", item="x") == [{"x": 1}]
    with pytest.raises(TypeError, match="std.each_pack"):
        run("std.each_pack", {"docs": "nope"}, items="docs", item="doc")


SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}


def test_matches() -> None:
    assert run("std.matches", {"n": 1}, schema=SCHEMA) is True
    assert run("std.matches", {"n": "1"}, schema=SCHEMA) is False
    assert run("std.matches", {"n": True}, schema=SCHEMA) is False  # bool is not an integer
    assert run("std.matches", [], schema=SCHEMA) is False


def test_expect() -> None:
    value = {"n": 1, "extra": "ok"}
    assert run("std.expect", value, schema=SCHEMA) is value
    with pytest.raises(StepTypeError) as info:
        run("std.expect", {"n": "one"}, schema=SCHEMA)
    err = info.value
    assert err.step == "expect"
    assert err.path == "$.n"
    assert "integer" in err.expected
    with pytest.raises(StepTypeError) as named:
        run("std.expect", {}, schema=SCHEMA, step="check_reply")
    assert named.value.step == "check_reply"


def test_branch_predicate() -> None:
    assert run("std.branch_predicate", {"__branch__": True, "x": 1}) is True
    assert run("std.branch_predicate", {"__branch__": False}) is False
    with pytest.raises(TypeError, match="std.branch_predicate"):
        run("std.branch_predicate", {"__branch__": 1})
    with pytest.raises(TypeError):
        run("std.branch_predicate", {})


def test_branch_selector() -> None:
    assert run("std.branch_selector", {"__branch__": "refund"}) == "refund"
    assert run("std.branch_selector", {"__branch__": {"k": [1]}}) == {"k": [1]}
    with pytest.raises(KeyError, match="std.branch_selector"):
        run("std.branch_selector", {"x": 1})


def test_continue_with() -> None:
    assert run("std.continue_with", {"state": 1}) == {"__continue__": {"state": 1}}
    assert run("std.continue_with", None) == {"__continue__": None}


def test_std_pures_run_inside_a_flow() -> None:
    from composable_agents import arr, deploy

    flow = arr("std.init", key="x") >> arr("std.bind", consts={"y": 2}) >> arr("std.pluck", key="y")
    assert deploy(flow, tools=[], reasoners=[]).dry_run(1).value == 2
    bad = deploy(arr("std.bind", consts={"x": 2}), tools=[], reasoners=[]).dry_run({"x": 1})
    assert bad.status == "failed"
    assert "std.bind key collision: x" in bad.detail["message"]
