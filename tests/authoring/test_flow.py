"""``@flow``: tracing, lowering rules, branching/each/reschedule at run time, composition."""

from __future__ import annotations

from typing import Any

import pytest

from composable_agents import (
    Reasoner,
    cond,
    deploy,
    each,
    flow,
    pure,
    reschedule,
    switch,
    switch_on,
    think,
    tool,
)
from composable_agents.authoring.arrow import Arrow, Dataflow, Pipeline
from composable_agents.authoring.flow import Flow
from composable_agents.authoring.kernel import arr, par
from composable_agents.core.ir import Ann

# -- fixtures: tools, pures, a reasoner ---------------------------------------------------


@tool(effect="read", idempotent=True)
def tf_fetch(q: str) -> dict[str, Any]:
    return {"q": q, "n": len(q)}


@tool(effect="read", idempotent=True)
def tf_enrich(hit: dict[str, Any]) -> dict[str, Any]:
    return {"size": hit["n"] * 10}


@tool(effect="read", idempotent=True)
def tf_score(hit: dict[str, Any]) -> dict[str, Any]:
    return {"score": hit["n"] + 1}


@tool(effect="read", idempotent=True)
def tf_search(query: str, limit: int) -> list[str]:
    return [f"{query}-{i}" for i in range(limit)]


@tool(effect="write")
def tf_save(record: dict[str, Any]) -> dict[str, Any]:
    return {"saved": True}


@pure("tf.upper")
def tf_upper(text: str) -> str:
    return text.upper()


@pure("tf.suffix")
def tf_suffix(text: str, suffix: str = "!") -> str:
    return text + suffix


@pure("tf.is_long")
def tf_is_long(text: str) -> bool:
    return len(text) > 5


@pure("tf.kind")
def tf_kind(text: str) -> str:
    return "short" if len(text) < 4 else "long"


@pure("tf.wrap")
def tf_wrap(text: str) -> dict[str, Any]:
    return {"text": text, "kind": "a" if text.startswith("a") else "b"}


@pure("tf.label")
def tf_label(rec: dict[str, Any]) -> str:
    return f"{rec['prefix']}:{rec['item']}"


@pure("tf.join")
def tf_join(items: list[str]) -> str:
    return ",".join(items)


@pure("tf.bump")
def tf_bump(state: dict[str, Any]) -> dict[str, Any]:
    return {"n": state["n"] + 1}


@pure("tf.done")
def tf_done(state: dict[str, Any]) -> bool:
    return bool(state["n"] >= 3)


writer = Reasoner(name="tf_writer", model="fake:model", system="Write.")


def run(f: Arrow[Any, Any], value: Any, **kw: Any) -> Any:
    res = deploy(f).dry_run(value, **kw)
    assert res.status == "ok", res.detail
    return res.raw_value


# -- lowering ------------------------------------------------------------------------------


def test_straight_line_is_a_plain_seq_equal_to_the_typed_arrow() -> None:
    @flow
    def line(text: str) -> str:
        up = tf_upper(text)
        return tf_suffix(up, suffix="?")

    assert isinstance(line, Flow)
    assert isinstance(line, Pipeline)
    assert line.to_json() == (tf_upper >> arr(tf_suffix, suffix="?")).to_json()
    assert run(line, "abc") == "ABC?"
    assert line.in_type is str and line.out_type is str


def test_fan_out_tuple_is_par_and_merge_is_par_then_std_merge() -> None:
    @flow
    def both(hit: dict[str, Any]) -> Any:
        return (tf_enrich(hit), tf_score(hit))

    @flow
    def merged(hit: dict[str, Any]) -> dict[str, Any]:
        return tf_enrich(hit) | tf_score(hit)

    assert isinstance(both, Dataflow)
    assert both.to_json() == par(tf_enrich, tf_score).to_json()
    assert merged.to_json() == (par(tf_enrich, tf_score) >> arr("std.merge")).to_json()
    assert run(merged, {"n": 2}) == {"size": 20, "score": 3}


def test_reused_value_is_kept_by_an_ident_branch() -> None:
    @flow
    def keep(q: str) -> dict[str, Any]:
        hit = tf_fetch(q)
        extra = tf_enrich(hit)
        return hit | extra

    doc = keep.to_json()
    assert [s["op"] for s in doc["steps"]] == ["prim", "par", "arr"]
    assert doc["steps"][1]["branches"][0]["op"] == "ident"
    assert run(keep, "abcd") == {"q": "abcd", "n": 4, "size": 40}


def test_pluck_and_step_options_lower_to_std_pluck_and_ann() -> None:
    @flow
    def opts(q: str) -> Any:
        hit = tf_fetch(q, retries=2, timeout_s=5, retry_interval_s=0.5, backoff_rate=3, name="fetch")
        return hit["n"]

    steps = opts.to_json()["steps"]
    assert steps[0]["name"] == "fetch"
    assert steps[0]["ann"] == {"maxAttempts": 3, "timeoutS": 5, "retryIntervalS": 0.5, "backoffRate": 3}
    assert steps[1] == {"op": "arr", "id": "$.1", "pure": "std.pluck", "args": {"key": "n"}}
    assert run(opts, "hello") == 5


def test_constants_bind_for_tools_and_reasoners_and_are_args_for_pures() -> None:
    @flow
    def consts(q: str) -> Any:
        hits = tf_search(query=q, limit=2)
        joined = tf_join(hits)
        return tf_suffix(joined, "#")

    doc = consts.to_json()
    assert doc["steps"][0] == {"op": "arr", "id": "$.0", "pure": "std.init", "args": {"key": "query"}}
    assert doc["steps"][1]["pure"] == "std.bind" and doc["steps"][1]["args"] == {"consts": {"limit": 2}}
    assert doc["steps"][-1]["args"] == {"suffix": "#"}
    assert run(consts, "x") == "x-0,x-1#"

    @flow
    def reason(hit: dict[str, Any]) -> Any:
        return think(writer, hit, tone="dry", timeout_s=3)

    rdoc = reason.to_json()
    assert rdoc["steps"][0]["args"] == {"consts": {"tone": "dry"}}
    assert rdoc["steps"][1]["ann"] == {"timeoutS": 3}
    seen: list[Any] = []

    def fake(value: Any) -> Any:
        seen.append(value)
        return {"ok": True}

    assert run(reason, {"a": 1}, reasoners={"tf_writer": fake}) == {"ok": True}
    assert seen == [{"a": 1, "tone": "dry"}]


def test_write_tools_are_ordering_barriers() -> None:
    @flow
    def ordered(hit: dict[str, Any]) -> Any:
        before = tf_enrich(hit)
        saved = tf_save(hit)
        after = tf_score(hit)
        return (before, saved, after)

    doc = ordered.to_json()
    # three waves: enrich, then save, then score — never one flat par
    assert doc["op"] == "seq"
    assert "tf_save" not in str(doc["steps"][0])
    assert "tf_enrich" in str(doc["steps"][0]) and "tf_score" not in str(doc["steps"][0])
    order: list[str] = []

    def log(key: str, out: Any) -> Any:
        def fn(value: Any) -> Any:
            order.append(key)
            return out

        return fn

    for seed in range(5):
        order.clear()
        res = deploy(ordered).dry_run(
            {"n": 1},
            seed=seed,
            tools={"tf_enrich": log("enrich", {"e": 1}), "tf_save": log("save", {"s": 2}),
                   "tf_score": log("score", {"c": 3})},
        )
        assert res.raw_value == [{"e": 1}, {"s": 2}, {"c": 3}]
        assert order == ["enrich", "save", "score"]

    @flow
    def free(hit: dict[str, Any]) -> Any:
        return (tf_enrich(hit), tf_score(hit))

    assert free.to_json()["op"] == "par"


def test_env_threading_when_values_cross_several_waves() -> None:
    @flow
    def tangled(q: str) -> dict[str, Any]:
        hit = tf_fetch(q)
        size = tf_enrich(hit)
        score = tf_score(hit | size)
        again = tf_enrich(hit | score)
        return hit | size | score | again

    assert run(tangled, "abc") == {"q": "abc", "n": 3, "size": 30, "score": 4}


def test_multi_parameter_flow_takes_a_record_and_calls_record_tools_directly() -> None:
    @flow
    def search(query: str, limit: int) -> list[str]:
        return tf_search(query, limit)

    assert search.to_json() == tf_search.to_json()
    assert run(search, {"query": "a", "limit": 2}) == ["a-0", "a-1"]

    @flow
    def two(query: str, limit: int) -> str:
        hits = tf_search(query=query, limit=limit)
        return tf_suffix(tf_join(hits), suffix=".")

    assert run(two, {"query": "b", "limit": 3}) == "b-0,b-1,b-2."


def test_flows_call_flows_and_compose_with_typed_arrows() -> None:
    @flow
    def shout(text: str) -> str:
        return tf_upper(text)

    @flow
    def outer(text: str) -> str:
        loud = shout(text)
        return tf_suffix(loud)

    assert outer.to_json() == (tf_upper >> tf_suffix).to_json()
    composed = outer >> arr(tf_suffix, suffix="?")
    assert isinstance(composed, Pipeline)
    assert run(composed, "hi") == "HI!?"
    assert run(tf_upper >> outer, "yo") == "YO!"

    @flow
    def pair(query: str, limit: int) -> list[str]:
        return tf_search(query=query, limit=limit)

    @flow
    def caller(query: str) -> list[str]:
        return pair(query=query, limit=1)

    assert run(caller, "z") == ["z-0"]


def test_named_flow_and_narrow() -> None:
    @flow(name="tf.named.v1")
    def named(text: str) -> str:
        return tf_upper(text)

    assert named.ref == "tf.named.v1"
    assert isinstance(named, Flow)
    assert named.narrow(Pipeline) is named


# -- branching and each -----------------------------------------------------------------------


def test_cond_with_a_pure_predicate_and_with_a_handle() -> None:
    @flow
    def pick(text: str) -> str:
        return cond(tf_is_long, text, then=tf_upper, orelse=arr(tf_suffix, suffix="?"))

    assert pick.to_json()["op"] == "alt"
    assert run(pick, "abcdefgh") == "ABCDEFGH"
    assert run(pick, "ab") == "ab?"

    @flow
    def by_handle(text: str) -> str:
        flag = tf_is_long(text)
        return cond(flag, text, then=tf_upper)

    assert run(by_handle, "abcdefgh") == "ABCDEFGH"
    assert run(by_handle, "ab") == "ab"


def test_switch_and_switch_on() -> None:
    @flow
    def by_pure(text: str) -> str:
        return switch(tf_kind, text, cases={"short": tf_upper}, default=arr(tf_suffix, suffix="~"))

    assert run(by_pure, "abc") == "ABC"
    assert run(by_pure, "abcdef") == "abcdef~"

    @flow
    def by_handle(text: str) -> str:
        kind = tf_kind(text)
        return switch(kind, text, cases={"short": tf_suffix, "long": tf_upper})

    assert run(by_handle, "abc") == "abc!"
    assert run(by_handle, "abcdef") == "ABCDEF"

    @flow
    def on_field(text: str) -> Any:
        rec = tf_wrap(text)
        return switch_on(rec, key="kind", cases={"a": arr("std.pluck", key="text")}, default=arr("std.pluck", key="kind"))

    assert run(on_field, "apple") == "apple"
    assert run(on_field, "berry") == "b"


def test_each_with_and_without_captures() -> None:
    @flow
    def loud(items: list[str]) -> list[str]:
        return each(tf_upper, items, max_parallel=2)

    assert run(loud, ["a", "b", "c"]) == ["A", "B", "C"]

    @flow
    def label_one(item: str, prefix: str) -> str:
        return tf_label_rec(item=item, prefix=prefix)

    @flow
    def labels(prefix: str, items: list[str]) -> str:
        return each(label_one, items, prefix=prefix, reducer=tf_join)

    assert run(labels, {"prefix": "p", "items": ["x", "y"]}) == "p:x,p:y"

    @flow
    def const_capture(items: list[str]) -> list[str]:
        return each(label_one, items, prefix="k")

    assert run(const_capture, ["u"]) == ["k:u"]


@tool(effect="read", idempotent=True)
def tf_label_rec(item: str, prefix: str) -> str:
    return f"{prefix}:{item}"


def test_reschedule_builds_mark_sleep_continue_and_runs_segments() -> None:
    @flow
    def later(state: dict[str, Any]) -> dict[str, Any]:
        return reschedule(state, after_s=60, mark=tf_enrich)

    doc = later.to_json()
    assert [s["op"] for s in doc["steps"]] == ["prim", "prim", "arr"]
    assert doc["steps"][1]["step"] == {"kind": "call", "tool": "__sleep__", "args": {"seconds": 60}}
    assert doc["steps"][2]["pure"] == "std.continue_with"

    @flow
    def wait_again(state: dict[str, Any]) -> dict[str, Any]:
        return reschedule(state, after_s=5)

    @flow
    def poll(state: dict[str, Any]) -> dict[str, Any]:
        bumped = tf_bump(state)
        return cond(tf_done, bumped, then=arr("std.pluck", key="n"), orelse=wait_again)

    res = deploy(poll).dry_run({"n": 0})
    assert res.status == "ok", res.detail
    assert res.raw_value == 3


def test_flow_called_outside_a_body_says_how_to_run_it() -> None:
    @flow
    def f(text: str) -> str:
        return tf_upper(text)

    from composable_agents.errors import CompositionError

    with pytest.raises(CompositionError, match="dry_run"):
        f("x")
    with pytest.raises(CompositionError, match="inside a @flow body"):
        cond(tf_is_long, "x", then=tf_upper)
    assert tf_upper("plain") == "PLAIN"
    assert Ann(max_attempts=3).to_json() == {"maxAttempts": 3}


def test_record_parameters_merge_in_place_and_effects_with_discarded_results_still_run() -> None:
    @flow
    def both(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
        return a | b

    assert both.to_json() == {"op": "arr", "id": "$", "pure": "std.merge", "args": {"fields": ["a", "b"]}}
    assert run(both, {"a": {"x": 1, "y": 1}, "b": {"y": 2}}) == {"x": 1, "y": 2}

    saved: list[Any] = []

    def fake_save(value: Any) -> Any:
        saved.append(value)
        return {"saved": True}

    @flow
    def passthrough(rec: dict[str, Any]) -> dict[str, Any]:
        tf_save(rec)
        return rec

    assert run(passthrough, {"k": 1}, tools={"tf_save": fake_save}) == {"k": 1}
    assert saved == [{"k": 1}]


def test_each_captures_lower_to_each_pack() -> None:
    @flow
    def label_one(item: str, prefix: str) -> str:
        return tf_label_rec(item=item, prefix=prefix)

    @flow
    def labels(prefix: str, items: list[str]) -> list[str]:
        return each(label_one, items, prefix=prefix)

    doc = labels.to_json()
    assert doc["op"] == "seq"
    pack = doc["steps"][-2]
    assert pack["pure"] == "std.each_pack"
    assert pack["args"] == {"items": "__items__", "item": "item", "fields": ["prefix"]}
    assert doc["steps"][-1]["op"] == "each"
    assert run(labels, {"prefix": "p", "items": ["a", "b"]}) == ["p:a", "p:b"]


@tool(effect="read", idempotent=True)
def tf_config() -> dict[str, Any]:
    return {"mode": "fast"}


def test_a_nullary_tool_is_a_step_without_input() -> None:
    @flow
    def configured(rec: dict[str, Any]) -> dict[str, Any]:
        cfg = tf_config()
        return rec | cfg

    assert run(configured, {"k": 1}) == {"k": 1, "mode": "fast"}

    from composable_agents.errors import DefineError

    with pytest.raises(DefineError, match="unused parameter 'rec'"):

        @flow
        def ignores(rec: dict[str, Any]) -> dict[str, Any]:
            return tf_config()
