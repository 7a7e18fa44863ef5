"""Laws of the deploy gates, against oracles that do not share the passes' code.

* Approval: for generated trees holding a dangerous tool, a strict deploy
  passes iff **every execution trace** (sequences, all interleavings of
  ``par`` branches, either arm of an ``alt``, zero to two ``each`` items, one
  to ``max`` ``iter_up_to`` rounds) reaches each dangerous call only after a
  gate.
* Race admission: for generated race trees, admission passes iff every tool
  called in a branch is read-only or asserted idempotent (native contract or
  capability grant; MCP hints never count).
* Capabilities: for every section, absent is unconstrained and present-empty
  denies.
"""

from __future__ import annotations

import itertools
from functools import cache
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from composable_agents import (
    ContextPolicy,
    ContextScope,
    Reasoner,
    alt,
    call,
    deploy,
    each,
    human_gate,
    iter_up_to,
    mcp,
    par,
    race,
    seq,
    snapshot_from_listings,
    sub,
    think,
    tool,
)
from composable_agents.errors import ValidationError


@tool(name="ap_read", effect="read")
def ap_read(x: str) -> str:
    return x


@tool(name="ap_danger", effect="dangerous")
def ap_danger(x: str) -> str:
    return x


@tool(name="ap_idem_write", effect="write", idempotent=True)
def ap_idem_write(x: str) -> str:
    return x


@tool(name="ap_write")
def ap_write(x: str) -> str:
    return x


@tool(name="ap_external", effect="external")
def ap_external(x: str) -> str:
    return x


SNAP = snapshot_from_listings(
    {
        "m": {
            "hinted": {"annotations": {"readOnlyHint": True, "idempotentHint": True}},
            "plain": {},
            "asserted_read": {},
            "asserted_idem": {},
        }
    },
    versions={"m": "1.0.0"},
)
NATIVE = [ap_read, ap_danger, ap_idem_write, ap_write, ap_external]
ALL_DEFS = [t.definition for t in NATIVE] + SNAP.tools()

# -- approval -----------------------------------------------------------------------------

# A tree is a tuple: ("gate",), ("danger",), ("read",), ("seq", kids), ("par", kids),
# ("alt", a, b), ("each", body), ("iter", n, body).
leaf = st.sampled_from([("gate",), ("danger",), ("read",)])


def _extend(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.tuples(st.just("seq"), st.lists(children, min_size=2, max_size=3).map(tuple)),
        st.tuples(st.just("par"), st.lists(children, min_size=2, max_size=2).map(tuple)),
        st.tuples(st.just("alt"), children, children),
        st.tuples(st.just("each"), children),
        st.tuples(st.just("iter"), st.integers(1, 2), children),
    )


trees = st.recursive(leaf, _extend, max_leaves=7)


def _interleave(a: tuple[str, ...], b: tuple[str, ...]) -> set[tuple[str, ...]]:
    out: set[tuple[str, ...]] = set()
    n = len(a) + len(b)
    for positions in itertools.combinations(range(n), len(a)):
        pos = set(positions)
        ia, ib = iter(a), iter(b)
        out.add(tuple(next(ia) if i in pos else next(ib) for i in range(n)))
    return out


def _concat(xs: set[tuple[str, ...]], ys: set[tuple[str, ...]]) -> set[tuple[str, ...]]:
    return {x + y for x in xs for y in ys}


@cache
def traces(tree: Any) -> frozenset[tuple[str, ...]]:
    """Every order in which gate/danger events can happen (reads are irrelevant)."""
    kind = tree[0]
    if kind == "gate":
        return frozenset({("G",)})
    if kind == "danger":
        return frozenset({("D",)})
    if kind == "read":
        return frozenset({()})
    if kind == "seq":
        acc: set[tuple[str, ...]] = {()}
        for kid in tree[1]:
            acc = _concat(acc, set(traces(kid)))
        return frozenset(acc)
    if kind == "par":
        acc = {()}
        for kid in tree[1]:
            acc = {t for x in acc for y in traces(kid) for t in _interleave(x, y)}
        return frozenset(acc)
    if kind == "alt":
        return traces(tree[1]) | traces(tree[2])
    if kind == "each":
        body = set(traces(tree[1]))
        return frozenset({()} | body | _concat(body, body))
    if kind == "iter":
        body = set(traces(tree[2]))
        out = set(body)
        if tree[1] >= 2:
            out |= _concat(body, body)
        return frozenset(out)
    raise AssertionError(tree)


def every_danger_gated(tree: Any) -> bool:
    for trace in traces(tree):
        gated = False
        for event in trace:
            if event == "G":
                gated = True
            elif event == "D" and not gated:
                return False
    return True


def build(tree: Any) -> Any:
    kind = tree[0]
    if kind == "gate":
        return human_gate("approve?")
    if kind == "danger":
        return call(ap_danger)
    if kind == "read":
        return call(ap_read)
    if kind == "seq":
        return seq(*[build(k) for k in tree[1]])
    if kind == "par":
        return par(*[build(k) for k in tree[1]])
    if kind == "alt":
        return alt("std.branch_predicate", build(tree[1]), build(tree[2]))
    if kind == "each":
        return each(build(tree[1]))
    if kind == "iter":
        return iter_up_to(tree[1], build(tree[2]))
    raise AssertionError(tree)


def _has_danger(tree: Any) -> bool:
    return tree == ("danger",) or any(isinstance(k, tuple) and _has_danger(k) for k in _kids(tree))


def _kids(tree: Any) -> list[Any]:
    kind = tree[0]
    if kind in ("seq", "par"):
        return list(tree[1])
    if kind == "alt":
        return [tree[1], tree[2]]
    if kind == "each":
        return [tree[1]]
    if kind == "iter":
        return [tree[2]]
    return []


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees.filter(_has_danger))
def test_strict_deploy_passes_iff_every_path_to_a_dangerous_tool_is_gated(tree: Any) -> None:
    flow = build(tree)
    try:
        deploy(flow, tools=NATIVE)
        passed = True
    except ValidationError as exc:
        assert {d.code for d in exc.diagnostics} == {"APPROVAL_UNGATED"}
        passed = False
    assert passed is every_danger_gated(tree)


# -- race admission ------------------------------------------------------------------------

# (step builder, safe?) — the oracle's own table, from the contracts as declared and granted.
GRANTS = {
    "tools": [
        "ap_read", "ap_danger", "ap_idem_write", "ap_write", "ap_external", "m/hinted", "m/plain",
        {"name": "m/asserted_read", "effect": "read"},
        {"name": "m/asserted_idem", "idempotency": "required"},
    ]
}
PALETTE: list[tuple[str, Any, bool]] = [
    ("ap_read", lambda: call(ap_read), True),
    ("ap_idem_write", lambda: call(ap_idem_write), True),
    ("ap_write", lambda: call(ap_write), False),
    ("ap_external", lambda: call(ap_external), False),
    ("m/hinted", lambda: call(mcp("m", "hinted")), False),  # hints are untrusted
    ("m/plain", lambda: call(mcp("m", "plain")), False),
    ("m/asserted_read", lambda: call(mcp("m", "asserted_read")), True),
    ("m/asserted_idem", lambda: call(mcp("m", "asserted_idem")), True),
]
step_index = st.integers(0, len(PALETTE) - 1)
branch = st.one_of(
    step_index.map(lambda i: ("one", i)),
    st.lists(step_index, min_size=2, max_size=3).map(lambda xs: ("seq", tuple(xs))),
    st.lists(step_index, min_size=2, max_size=2).map(lambda xs: ("par", tuple(xs))),
)


def build_branch(spec: Any) -> Any:
    kind, payload = spec
    if kind == "one":
        return PALETTE[payload][1]()
    steps = [PALETTE[i][1]() for i in payload]
    return seq(*steps) if kind == "seq" else par(*steps)


def branch_safe(spec: Any) -> bool:
    kind, payload = spec
    indices = [payload] if kind == "one" else list(payload)
    return all(PALETTE[i][2] for i in indices)


@settings(max_examples=200, deadline=None)
@given(st.lists(branch, min_size=1, max_size=4), st.sampled_from(["race", "hedge", "quorum"]), st.booleans())
def test_race_admission_passes_iff_every_branch_is_read_only_or_asserted(
    branches: list[Any], family: str, wrap_in_seq: bool
) -> None:
    from composable_agents import hedge, quorum

    built = [build_branch(b) for b in branches]
    if family == "race":
        flow = race(built)
    elif family == "hedge":
        flow = hedge(built, hedge_ms=100)
    else:
        flow = quorum(built, k=1)
    if wrap_in_seq:
        flow = seq(call(ap_read), flow)
    d = deploy(flow, tools=ALL_DEFS, capabilities=GRANTS, strict=False)
    race_codes = {x.code for x in d.diagnostics if x.code.startswith("RACE_")}
    assert {x.code for x in d.diagnostics} == race_codes  # nothing else fires here
    assert (not race_codes) is all(branch_safe(b) for b in branches)
    if any(PALETTE[i][0].startswith("m/") and not PALETTE[i][2] for b in branches for i in (
        [b[1]] if b[0] == "one" else list(b[1])
    )):
        assert "RACE_UNASSERTED" in race_codes


# -- absent vs empty, per section ------------------------------------------------------------

PR = Reasoner("ap_writer", "claude-haiku-4-5", system="Write.")
CHILD = seq(call(ap_read)).named("ap.child.v1")
FULL_FLOW = seq(
    call(ap_read),
    call(mcp("m", "plain")),
    think(PR, ctx=ContextPolicy(scope=ContextScope.SUMMARY)),
    sub(CHILD),
)
GRANTING: dict[str, Any] = {
    "tools": ["ap_read", "m/plain"],
    "reasoners": ["ap_writer"],
    "models": ["claude-haiku-4-5"],
    "memory": ["summary"],
    "subflows": ["ap.child.v1"],
    "mcp_servers": {"m": ">=1"},
    "network": ["api.example"],
    "budget": {"cost": 1.0, "tokens": 100000},
}
EMPTY: dict[str, Any] = {
    "tools": [], "reasoners": [], "models": [], "memory": [], "subflows": [], "mcp_servers": {}, "network": [],
    "budget": {},
}
DENIED: dict[str, str | None] = {
    "tools": "CAP_TOOL_DENIED",
    "reasoners": "CAP_REASONER_DENIED",
    "models": "CAP_MODEL_DENIED",
    "memory": "CAP_MEMORY_DENIED",
    "subflows": "CAP_SUBFLOW_DENIED",
    "mcp_servers": "CAP_SERVER_DENIED",
    "network": None,  # hosts are enforced by workers at run time
    "budget": "BUDGET_EXCEEDED",
}


@settings(max_examples=120, deadline=None)
@given(st.fixed_dictionaries({s: st.sampled_from(["absent", "empty", "granting"]) for s in DENIED}))
def test_absent_is_unconstrained_and_present_empty_denies(states: dict[str, str]) -> None:
    caps: dict[str, Any] = {}
    for section, state in states.items():
        if state == "empty":
            caps[section] = EMPTY[section]
        elif state == "granting":
            caps[section] = GRANTING[section]
    d = deploy(FULL_FLOW, tools=ALL_DEFS, reasoners=[PR], capabilities=caps, strict=False)
    got = {x.code for x in d.diagnostics}
    want = {DENIED[s] for s, state in states.items() if state == "empty" and DENIED[s] is not None}
    assert got == want


# -- bad manifests never crash ------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=True) | st.text(max_size=6),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=6), kids, max_size=3),
    max_leaves=8,
)
section_names = st.sampled_from(
    ["tools", "reasoners", "models", "memory", "mcp_servers", "network", "subflows", "budget", "bogus"]
)
grant_like = st.fixed_dictionaries(
    {"name": st.text(max_size=4) | st.integers()},
    optional={
        "effect": st.sampled_from(["read", "write", "reed", 3]),
        "idempotency": st.sampled_from(["none", "native", "nope"]),
        "maxCalls": st.integers(-2, 3) | st.text(max_size=2),
        "approval": st.sampled_from(["required", "none", "maybe", True]),
        "extra": json_values,
    },
)
manifests = st.dictionaries(section_names, json_values | st.lists(grant_like, max_size=3), max_size=5) | json_values


@settings(max_examples=300, deadline=None)
@given(manifests)
def test_any_manifest_document_is_diagnosed_never_raised(doc: Any) -> None:
    from composable_agents import CapabilityManifest

    m = CapabilityManifest.from_dict(doc)
    assert all(p.code == "CAP_MANIFEST_INVALID" and p.node_id.startswith("capabilities:") for p in m.problems)
    assert CapabilityManifest.from_dict(m.to_json()).problems == ()  # what survives is well-formed
    d = deploy(call(ap_read), tools=NATIVE, capabilities=doc, strict=False)
    assert {x.code for x in d.diagnostics} <= {
        "CAP_MANIFEST_INVALID", "CAP_TOOL_DENIED", "BUDGET_EXCEEDED", "CAP_MAX_CALLS",
    }
