"""Tests for the IR node types and the codec (normal form, ids, strict decoding)."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from composable_agents.core import codec
from composable_agents.core.canonical import canonical_dumps
from composable_agents.core.codec import MAX_NODE_DEPTH, encode_canonical, normalize, walk
from composable_agents.core.ir import (
    Alt,
    Ann,
    App,
    Arr,
    CallStep,
    ContextPolicy,
    Contract,
    Each,
    EvalPlan,
    Ident,
    IterUpTo,
    Loop,
    Node,
    Par,
    Prim,
    PureRef,
    Seq,
    SubStep,
    ThinkStep,
)
from composable_agents.core.kinds import ContextScope, Effect, Merge, Shape
from composable_agents.errors import FreezeError, IRDecodeError


def a(name: str = "p", **args: Any) -> Arr:
    return Arr(pure=name, args=args or None)


SAMPLES: dict[str, Node] = {
    "call": Prim(step=CallStep("search")),
    "call_bound_args": Prim(
        step=CallStep("__sleep__", bind="sha256:" + "0" * 64, args={"seconds": 5}),
        ann=Ann(timeout_s=2.5, max_attempts=3, retry_interval_s=0.5, backoff_rate=1.5),
    ),
    "think": Prim(step=ThinkStep("writer"), ctx=ContextPolicy(scope=ContextScope.SUMMARY, max_tokens=500)),
    "sub": Prim(step=SubStep("child.v1", Contract.of(Shape.FEEDBACK))),
    "sub_default": Prim(step=SubStep("child.v2")),
    "ident": Ident(),
    "ident_named": Ident(name="keep"),
    "arr": a("p"),
    "arr_args": a("p", key="k", nested={"x": [1, 2.5, None, True]}),
    "seq": Seq(steps=(a("a"), a("b"), a("c"))),
    "par_all": Par(branches=(a("a"), a("b"))),
    "par_race": Par(branches=(a("a"), a("b")), merge=Merge.RACE),
    "par_hedge": Par(branches=(a("a"), a("b")), merge=Merge.HEDGE, hedge_ms=250),
    "par_quorum": Par(
        branches=(a("a"), a("b"), a("c")), merge=Merge.QUORUM, k=2, reducer=PureRef("r", {"n": 1})
    ),
    "each": Each(body=a("b")),
    "each_opts": Each(body=a("b"), max_parallel=4, reducer=PureRef("sum")),
    "alt_binary": Alt(branches=(a("t"), a("f")), pred=PureRef("is_big", {"limit": 3})),
    "alt_switch": Alt(
        branches=(a("x"), a("y"), Ident()),
        selector=PureRef("kind"),
        cases=("x", {"complex": [1]}),
    ),
    "iter": IterUpTo(body=a("step"), max_rounds=3),
    "iter_until": IterUpTo(body=a("step"), max_rounds=5, until=PureRef("done")),
    "eval_plan": EvalPlan(planner="planner", ann=Ann(cost_usd=0.01)),
    "app": App(
        controller="ctl",
        tools=("search/web", "send"),
        subflows=("child.v1",),
        budget={"cost": 0.25, "tokens": 1000},
        max_rounds=8,
    ),
    "app_min": App(controller="ctl"),
    "loop": Loop(body=a("turn"), init={"count": 0}),
    "annotated": Arr(pure="p", ann=Ann(cost_usd=0.5, cache="v1", effect=Effect.READ), name="named"),
    "nested": Seq(
        steps=(
            a("a"),
            Par(branches=(Each(body=IterUpTo(body=a("x"), max_rounds=2)), a("b"))),
            Alt(branches=(a("t"), Seq(steps=(a("u"), a("v")), ann=Ann(timeout_s=1))), pred=PureRef("q")),
        )
    ),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_node_round_trips(name: str) -> None:
    node = SAMPLES[name]
    doc = node.to_json()
    back = Node.from_json(doc)
    assert back == node
    assert type(normalize(back)) is type(normalize(node))
    assert encode_canonical(back) == encode_canonical(node)
    assert canonical_dumps(back.to_json()) == canonical_dumps(doc)
    # text and bytes decode the same way
    text = canonical_dumps(doc)
    assert Node.from_json(text) == node
    assert Node.from_json(text.encode("utf-8")) == node


def test_wire_fields_use_documented_names() -> None:
    doc = SAMPLES["par_quorum"].to_json()
    assert doc["merge"] == "quorum" and doc["k"] == 2
    assert doc["reducer"] == {"pure": "r", "args": {"n": 1}}
    assert SAMPLES["par_hedge"].to_json()["hedgeMs"] == 250
    each = SAMPLES["each_opts"].to_json()
    assert each["maxParallel"] == 4 and each["body"]["id"] == "$.0"
    it = SAMPLES["iter_until"].to_json()
    assert it["max"] == 5 and it["until"] == {"pure": "done"}
    ann = SAMPLES["call_bound_args"].to_json()["ann"]
    assert ann == {"timeoutS": 2.5, "maxAttempts": 3, "retryIntervalS": 0.5, "backoffRate": 1.5}
    sw = SAMPLES["alt_switch"].to_json()
    assert sw["cases"] == ["x", {"complex": [1]}] and len(sw["branches"]) == 3
    sub = SAMPLES["sub_default"].to_json()
    assert sub["step"] == {"kind": "sub", "ref": "child.v2", "contract": {"shape": "Pipeline"}}
    assert SAMPLES["annotated"].to_json()["ann"] == {"costUsd": 0.5, "cache": "v1", "effect": "read"}
    assert "ann" not in SAMPLES["arr"].to_json()
    assert "args" not in SAMPLES["arr"].to_json()


def test_from_json_accepts_a_plan_without_ids() -> None:
    plan = {
        "op": "seq",
        "steps": [
            {"op": "arr", "pure": "a"},
            {"op": "par", "branches": [{"op": "prim", "step": {"kind": "think", "reasoner": "r"}},
                                       {"op": "ident", "name": "n"}]},
        ],
    }
    node = Node.from_json(plan)
    doc = node.to_json()
    assert [d["id"] for d in (doc, *doc["steps"])] == ["$", "$.0", "$.1"]
    assert [b["id"] for b in doc["steps"][1]["branches"]] == ["$.1.0", "$.1.1"]
    assert node == Node.from_json(doc)


def test_ids_are_n_ary_paths() -> None:
    node = SAMPLES["nested"]
    ids = [nid for nid, _n, _p in walk(node)]
    assert ids == ["$", "$.0", "$.1", "$.1.0", "$.1.0.0", "$.1.0.0.0", "$.1.1", "$.2", "$.2.0", "$.2.1",
                   "$.2.1.0", "$.2.1.1"]
    parents = {nid: parent for nid, _n, parent in walk(node)}
    assert parents["$"] is None and parents["$.1.0.0"] == "$.1.0" and parents["$.2.1.1"] == "$.2.1"
    assert node.to_json(root_id="sub:x")["steps"][1]["id"] == "sub:x.1"


# -- normalization ------------------------------------------------------------


def test_nested_plain_seqs_flatten() -> None:
    left = Seq(steps=(Seq(steps=(a("a"), a("b"))), a("c")))
    right = Seq(steps=(a("a"), Seq(steps=(a("b"), a("c")))))
    flat = Seq(steps=(a("a"), a("b"), a("c")))
    assert encode_canonical(left) == encode_canonical(right) == encode_canonical(flat)
    assert left == right == flat
    assert [s["pure"] for s in left.to_json()["steps"]] == ["a", "b", "c"]


def test_idents_inside_a_seq_disappear() -> None:
    node = Seq(steps=(Ident(), a("a"), Seq(steps=(Ident(), Ident())), a("b"), Ident()))
    assert node == Seq(steps=(a("a"), a("b")))


def test_one_step_and_empty_seqs_collapse() -> None:
    assert normalize(Seq(steps=(a("a"),))) == a("a")
    assert type(normalize(Seq(steps=(Ident(), a("a"))))) is Arr
    assert type(normalize(Seq(steps=()))) is Ident
    assert Seq(steps=(Ident(), Ident())).to_json() == {"op": "ident", "id": "$"}


def test_non_plain_seq_and_ident_are_kept() -> None:
    inner = Seq(steps=(a("b"), a("c")), ann=Ann(timeout_s=3))
    node = Seq(steps=(a("a"), inner))
    doc = node.to_json()
    assert len(doc["steps"]) == 2
    assert doc["steps"][1]["op"] == "seq" and doc["steps"][1]["ann"] == {"timeoutS": 3}
    single = Seq(steps=(a("x"),), name="wrapper")
    assert single.to_json()["op"] == "seq" and len(single.to_json()["steps"]) == 1
    kept = Seq(steps=(a("a"), Ident(name="mark"), a("b")))
    assert [s["op"] for s in kept.to_json()["steps"]] == ["arr", "ident", "arr"]
    empty = Seq(steps=(), name="nothing")
    assert [s["op"] for s in empty.to_json()["steps"]] == ["ident"]


def test_seq_inside_other_ops_is_normalized_too() -> None:
    node = Par(branches=(Seq(steps=(Seq(steps=(a("a"), Ident())), a("b"))), Seq(steps=(a("c"),))))
    doc = node.to_json()
    assert [s["pure"] for s in doc["branches"][0]["steps"]] == ["a", "b"]
    assert doc["branches"][1] == {"op": "arr", "id": "$.1", "pure": "c"}


def test_shared_subtrees_are_fine() -> None:
    shared = Seq(steps=(a("a"), a("b")))
    node = Par(branches=(shared, shared, Seq(steps=(shared, shared))))
    doc = node.to_json()
    assert len(doc["branches"][2]["steps"]) == 4
    assert doc["branches"][0]["id"] == "$.0" and doc["branches"][1]["id"] == "$.1"


def test_equality_and_hash_are_by_content() -> None:
    one = Par(branches=(a("a", k=1), a("b")))
    two = Par(branches=(a("a", k=1), a("b")))
    assert one is not two and one == two and hash(one) == hash(two)
    assert one != Par(branches=(a("a", k=2), a("b")))
    assert one != Par(branches=(a("b"), a("a", k=1)))
    assert len({one, two}) == 1
    assert one.digest().startswith("sha256:") and len(one.digest()) == 71
    assert (one == "x") is False


def test_cycles_are_rejected() -> None:
    node = Seq(steps=(a("x"), Par(branches=(a("a"),))))
    # Build a real cycle by forcing a child tuple of the frozen dataclass.
    par = node.steps[1]
    assert isinstance(par, Par)
    object.__setattr__(par, "branches", (a("y"), node))
    with pytest.raises(FreezeError, match="cycle"):
        normalize(node)


def test_over_deep_trees_are_rejected_at_freeze() -> None:
    node: Node = a("leaf")
    for _ in range(MAX_NODE_DEPTH + 2):
        node = Each(body=node)
    with pytest.raises(FreezeError, match="nests"):
        normalize(node)


def test_deep_plain_seq_nesting_flattens_without_depth_error() -> None:
    node: Node = a("leaf")
    for i in range(MAX_NODE_DEPTH * 4):
        node = Seq(steps=(a(f"s{i}"), node)) if i % 2 else Seq(steps=(node, a(f"s{i}")))
    doc = node.to_json()
    assert doc["op"] == "seq" and len(doc["steps"]) == MAX_NODE_DEPTH * 4 + 1


def test_long_chain_by_repeated_rshift_is_linear_and_flat() -> None:
    from composable_agents.authoring.kernel import arr

    n = 100_000
    steps = [arr(f"chain.p{i % 11}") for i in range(n)]
    left = steps[0]
    for step in steps[1:]:
        left = left >> step
    right = steps[-1]
    for step in reversed(steps[:-1]):
        right = step >> right
    flat = Seq(steps=tuple(s.to_ir() for s in steps))
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(200, min(limit, 1000)))
    try:
        doc = left.to_json()
        assert len(doc["steps"]) == n
        assert doc["steps"][-1]["id"] == f"$.{n - 1}"
        assert left.to_ir() == right.to_ir() == flat
        assert left.digest == right.digest
        assert left.surface_shape is Shape.PIPELINE
    finally:
        sys.setrecursionlimit(limit)


# -- strict decoding ------------------------------------------------------------

BAD: list[tuple[str, Any, str]] = [
    ("unknown op", {"op": "nope"}, "$.op"),
    ("op not a string", {"op": 3}, "$.op"),
    ("missing op", {"id": "$"}, "$"),
    ("root not an object", [1], "$"),
    ("missing required field", {"op": "arr"}, "$"),
    ("extra field", {"op": "arr", "pure": "p", "bogus": 1}, "$.bogus"),
    ("extra field in step", {"op": "prim", "step": {"kind": "think", "reasoner": "r", "x": 1}}, "$.step.x"),
    ("extra field in ann", {"op": "ident", "ann": {"speed": 1}}, "$.ann.speed"),
    ("wrong type string", {"op": "arr", "pure": 3}, "$.pure"),
    ("empty string", {"op": "arr", "pure": ""}, "$.pure"),
    ("wrong type args", {"op": "arr", "pure": "p", "args": [1]}, "$.args"),
    ("wrong type steps", {"op": "seq", "steps": {}}, "$.steps"),
    ("wrong type child", {"op": "seq", "steps": [{"op": "ident"}, 7]}, "$.steps[1]"),
    ("bool for int", {"op": "iter_up_to", "max": True, "body": {"op": "ident"}}, "$.max"),
    ("float for int", {"op": "each", "body": {"op": "ident"}, "maxParallel": 2.0}, "$.maxParallel"),
    ("zero rounds", {"op": "iter_up_to", "max": 0, "body": {"op": "ident"}}, "$.max"),
    ("zero k", {"op": "par", "branches": [{"op": "ident"}], "merge": "quorum", "k": 0}, "$.k"),
    ("bad merge", {"op": "par", "branches": [], "merge": "some"}, "$.merge"),
    ("bad effect", {"op": "ident", "ann": {"effect": "loud"}}, "$.ann.effect"),
    ("bad cache", {"op": "ident", "ann": {"cache": 1}}, "$.ann.cache"),
    ("string cost", {"op": "ident", "ann": {"costUsd": "1"}}, "$.ann.costUsd"),
    ("huge int cost", {"op": "ident", "ann": {"costUsd": 10**400}}, "$.ann.costUsd"),
    ("bad ctx scope", {"op": "ident", "ctx": {"scope": "all"}}, "$.ctx.scope"),
    ("bad step kind", {"op": "prim", "step": {"kind": "zap"}}, "$.step.kind"),
    ("step without kind", {"op": "prim", "step": {"tool": "t"}}, "$.step"),
    ("bad contract", {"op": "prim", "step": {"kind": "sub", "ref": "r", "contract": {"shape": "Big"}}},
     "$.step.contract.shape"),
    ("reducer not object", {"op": "each", "body": {"op": "ident"}, "reducer": "sum"}, "$.reducer"),
    ("reducer without pure", {"op": "each", "body": {"op": "ident"}, "reducer": {}}, "$.reducer"),
    ("alt both forms", {"op": "alt", "branches": [], "pred": {"pure": "a"}, "selector": {"pure": "b"}},
     "$.selector"),
    ("alt neither form", {"op": "alt", "branches": []}, "$"),
    ("alt binary arity", {"op": "alt", "branches": [{"op": "ident"}], "pred": {"pure": "a"}}, "$.branches"),
    ("alt switch arity", {"op": "alt", "branches": [{"op": "ident"}], "selector": {"pure": "a"},
                          "cases": ["x"]}, "$.branches"),
    ("alt switch no cases", {"op": "alt", "branches": [{"op": "ident"}], "selector": {"pure": "a"}}, "$.cases"),
    ("alt pred with cases", {"op": "alt", "branches": [{"op": "ident"}, {"op": "ident"}],
                             "pred": {"pure": "a"}, "cases": []}, "$.cases"),
    ("app tools not strings", {"op": "app", "controller": "c", "tools": ["a", 1]}, "$.tools[1]"),
    ("duplicate ids", {"op": "seq", "id": "$", "steps": [{"op": "ident", "id": "$.0"},
                                                        {"op": "ident", "id": "$.0"}]}, "$.steps[1].id"),
    ("id not a string", {"op": "ident", "id": 0}, "$.id"),
    ("nested fault", {"op": "seq", "steps": [{"op": "arr", "pure": "p"},
                                            {"op": "par", "branches": [{"op": "ident",
                                                                        "ann": {"costUsd": "x"}}]}]},
     "$.steps[1].branches[0].ann.costUsd"),
    ("nan in args", {"op": "arr", "pure": "p", "args": {"x": [float("nan")]}}, "$.args.x[0]"),
    ("inf cost", {"op": "ident", "ann": {"costUsd": float("inf")}}, "$.ann.costUsd"),
    ("set value", {"op": "arr", "pure": "p", "args": {"x": {1}}}, "$.args.x"),
    ("non-str key", {"op": "arr", "pure": "p", "args": {1: 2}}, "$.args"),
]


@pytest.mark.parametrize(("label", "doc", "path"), BAD, ids=[b[0] for b in BAD])
def test_bad_documents_raise_with_their_path(label: str, doc: Any, path: str) -> None:
    with pytest.raises(IRDecodeError) as info:
        Node.from_json(doc)
    assert info.value.path == path, label
    assert str(info.value).startswith(path)


@pytest.mark.parametrize(
    "text",
    [
        '{"op":"ident","ann":{"costUsd":NaN}}',
        '{"op":"ident","ann":{"costUsd":Infinity}}',
        '{"op":"ident","ann":{"costUsd":-Infinity}}',
        '{"op":"ident","ann":{"costUsd":1e999}}',
        '{"op":"ident"',
        "",
        "not json",
        '{"op":"iter_up_to","max":' + "9" * 5000 + ',"body":{"op":"ident"}}',
        "[" * 100_000 + "]" * 100_000,
    ],
)
def test_bad_texts_raise(text: str) -> None:
    with pytest.raises(IRDecodeError):
        Node.from_json(text)
    with pytest.raises(IRDecodeError):
        Node.from_json(text.encode("utf-8"))


def test_non_utf8_bytes_raise() -> None:
    with pytest.raises(IRDecodeError, match="UTF-8"):
        Node.from_json(b"\xff\xfe{}")


def test_nesting_beyond_the_limit_raises_with_a_path() -> None:
    doc: dict[str, Any] = {"op": "ident"}
    for _ in range(MAX_NODE_DEPTH + 5):
        doc = {"op": "each", "body": doc}
    with pytest.raises(IRDecodeError) as info:
        Node.from_json(doc)
    assert info.value.path.startswith("$" + ".body" * 10)
    assert "deeper" in info.value.reason
    with pytest.raises(IRDecodeError):
        Node.from_json(json.dumps(doc))


def test_nesting_at_the_limit_decodes() -> None:
    doc: dict[str, Any] = {"op": "ident", "name": "bottom"}
    for _ in range(MAX_NODE_DEPTH - 1):
        doc = {"op": "each", "body": doc}
    node = Node.from_json(doc)
    assert node.to_json()["op"] == "each"


def test_deep_json_nesting_inside_args_raises_not_recursion_error() -> None:
    inner: Any = 1
    for _ in range(5000):
        inner = [inner]
    with pytest.raises(IRDecodeError):
        Node.from_json({"op": "arr", "pure": "p", "args": {"x": inner}})


def test_oversized_text_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codec, "MAX_DOCUMENT_BYTES", 100)
    doc = canonical_dumps({"op": "arr", "pure": "p", "args": {"blob": "x" * 200}})
    with pytest.raises(IRDecodeError, match="exceeds"):
        Node.from_json(doc)
    with pytest.raises(IRDecodeError, match="exceeds"):
        Node.from_json(doc.encode())
    assert Node.from_json('{"op":"ident"}') == Ident()


def test_too_many_nodes_raise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codec, "MAX_NODES", 10)
    doc = {"op": "seq", "steps": [{"op": "arr", "pure": f"p{i}"} for i in range(20)]}
    with pytest.raises(IRDecodeError, match="more than 10 nodes") as info:
        Node.from_json(doc)
    assert info.value.path == "$.steps[9]"


def test_decode_error_is_a_value_error_and_non_retryable() -> None:
    with pytest.raises(ValueError):
        Node.from_json({"op": "nope"})
    assert IRDecodeError.non_retryable is True


def test_empty_par_is_rejected_and_still_encodes_decodably() -> None:
    # Regression (found by the decode fuzzer): a par with no branches decoded,
    # then encoded without its "branches" field, which did not decode back.
    with pytest.raises(IRDecodeError) as info:
        Node.from_json({"op": "par", "branches": []})
    assert info.value.path == "$.branches"
    doc = Par(branches=()).to_json()
    assert doc["branches"] == []
    switch = Alt(branches=(Ident(),), selector=PureRef("s"), cases=()).to_json()
    assert Node.from_json(switch).to_json() == switch


def test_mutating_a_wire_document_never_changes_the_node() -> None:
    # Regression: to_json() returned the node's own args/cases/budget/init
    # objects, so editing a document silently edited the "immutable" node
    # (whose digest was already cached).
    nodes = [
        Arr(pure="p", args={"x": [1]}),
        Prim(step=CallStep("t", args={"x": [1]})),
        Par(branches=(Ident(name="i"),), reducer=PureRef("r", {"x": [1]})),
        Alt(branches=(Ident(), Ident()), selector=PureRef("s"), cases=({"x": [1]},)),
        App(controller="c", budget={"x": [1]}),
        Loop(body=Ident(name="i"), init={"x": [1]}),
    ]
    for node in nodes:
        before = canonical_dumps(node.to_json())
        digest = node.digest()
        stack: list[Any] = [node.to_json()]
        while stack:  # append to every list, set a key in every object
            item = stack.pop()
            if isinstance(item, dict):
                stack.extend(item.values())
                item["zz"] = 0
            elif isinstance(item, list):
                stack.extend(item)
                item.append(0)
        assert canonical_dumps(node.to_json()) == before
        assert Node.from_json(before).digest() == digest


def test_an_empty_ann_does_not_change_the_normal_form() -> None:
    # Regression (found by the round-trip property): Seq(ann=Ann()) stayed a
    # non-plain seq, but the empty ann is absent on the wire, so the decoded
    # node normalized differently.
    node = Alt(branches=(Ident(), Seq(steps=(), ann=Ann())), pred=PureRef("p"))
    assert Node.from_json(node.to_json()) == node
    assert Seq(steps=(a("a"), Seq(steps=(a("b"),), ann=Ann()))) == Seq(steps=(a("a"), a("b")))
    assert Seq(steps=(Ident(ann=Ann()), a("a"))).to_json()["op"] == "arr"
