"""deploy()'s gates: the seed's documented behaviours, strictness, freeze, capabilities, admission."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any

import pytest
from dg_cases import CHILD, DG_R, REASONERS, SNAPSHOT, TOOLS, dg_danger, dg_read, dg_upper, dg_write

from composable_agents import (
    Ann,
    CapabilityManifest,
    alt,
    call,
    deploy,
    each,
    explain,
    hedge,
    human_gate,
    iter_up_to,
    mcp,
    par,
    quorum,
    race,
    seq,
    set_source_capture,
    snapshot_from_listings,
    sub,
    think,
    tool,
)
from composable_agents.compiler.budget import estimate
from composable_agents.compiler.capabilities import VersionConstraint
from composable_agents.compiler.deploy import DevModeError, DevModeWarning
from composable_agents.compiler.freeze import freeze
from composable_agents.compiler.validate import looks_secret
from composable_agents.core.ir import CallStep, Par, Prim
from composable_agents.core.kinds import Effect, Idempotency, Merge
from composable_agents.core.pures import Registry
from composable_agents.errors import CompositionError, ValidationError


def _codes(deployment: Any) -> list[str]:
    return [d.code for d in deployment.diagnostics]


# -- the seed's documented behaviours ---------------------------------------------------


def test_ungranted_tool_is_denied_with_a_fix_line() -> None:
    flow = seq(call(mcp("search", "web")), call(mcp("srv", "denied")))
    caps = {"tools": [{"name": "search/web", "effect": "read", "idempotency": "native"}]}
    with pytest.raises(ValidationError) as info:
        deploy(flow, SNAPSHOT, capabilities=caps)
    text = str(info.value)
    assert "[CAP_TOOL_DENIED@$.1] error: tool 'srv/denied' is not granted" in text
    assert "fix: Add this tool to the capability manifest's tools: allow-list, or remove the call." in text
    assert [d.code for d in info.value.diagnostics] == ["CAP_TOOL_DENIED"]


def test_non_read_non_idempotent_tool_in_race_is_rejected() -> None:
    with pytest.raises(ValidationError) as info:
        deploy(race([call(dg_read), call(dg_write)]), tools=TOOLS)
    assert [d.code for d in info.value.diagnostics] == ["RACE_UNSAFE"]
    assert info.value.diagnostics[0].node_id == "$.1"


def test_read_and_idempotent_branches_race_fine() -> None:
    d = deploy(race(call(dg_read), call(dg_upper)), tools=TOOLS)
    assert d.diagnostics == ()


def test_dangerous_tool_outside_a_gate_is_refused_by_the_kernel() -> None:
    with pytest.raises(ValidationError) as info:
        deploy(seq(call(dg_read), call(dg_danger)), tools=TOOLS)
    assert [d.code for d in info.value.diagnostics] == ["APPROVAL_UNGATED"]
    ok = deploy(seq(call(dg_read), human_gate("Send it?"), call(dg_danger)), tools=TOOLS)
    assert ok.diagnostics == ()


def test_dev_mode_warns_continues_runs_locally_and_summarizes_the_gap() -> None:
    flow = seq(call(dg_read), call(dg_danger))
    with pytest.warns(DevModeWarning, match="dev-mode deployment"):
        d = deploy(flow, tools=TOOLS, mode="dev")
    assert [x.code for x in d.prod_gap] == ["APPROVAL_UNGATED"]
    assert d.dry_run("hi").value == "hi"
    summary = d.prod_gap_summary()
    assert summary.splitlines()[0] == "A strict deploy would block on 1 diagnostic(s):"
    assert "APPROVAL_UNGATED x1 at $.1" in summary
    assert "fix: Put human_gate(prompt=...) before this call" in summary


def test_dev_mode_run_and_start_refuse_before_contacting_a_server() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DevModeWarning)
        d = deploy(call(dg_read), tools=TOOLS, mode="dev")
    with pytest.raises(DevModeError, match="dev-mode deployment"):
        d.run(None, session_id="s", input="x")
    with pytest.raises(DevModeError, match="dev-mode deployment"):
        d.start(None, session_id="s", input="x")


def test_same_flow_deployed_twice_has_the_same_artifact_hash() -> None:
    caps = {"tools": ["dg_read", "dg_upper"], "budget": {"cost": 1}}
    a = deploy(seq(call(dg_read), call(dg_upper)), tools=TOOLS, capabilities=caps)
    b = deploy(seq(call(dg_read), call(dg_upper)), tools=TOOLS, capabilities=dict(caps))
    assert a.artifact_hash == b.artifact_hash
    c = deploy(seq(call(dg_read), call(dg_upper)), tools=TOOLS, capabilities={"tools": ["dg_read", "dg_upper"]})
    assert c.artifact_hash != a.artifact_hash  # the capabilities are part of the artifact


def test_artifact_hash_is_stable_across_processes() -> None:
    here = Path(__file__).resolve().parent
    script = textwrap.dedent(
        """
        import sys
        sys.path.insert(0, %r)
        from dg_cases import TOOLS, dg_read, dg_upper
        from composable_agents import call, deploy, race, seq, human_gate
        d = deploy(seq(race(call(dg_read), call(dg_upper)), human_gate("ok?")), tools=TOOLS,
                   capabilities={"tools": ["dg_read", "dg_upper"]})
        print(d.artifact_hash)
        """  # noqa: UP031
        % str(here)
    )
    local = deploy(
        seq(race(call(dg_read), call(dg_upper)), human_gate("ok?")),
        tools=TOOLS,
        capabilities={"tools": ["dg_read", "dg_upper"]},
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == local.artifact_hash


# -- strictness -----------------------------------------------------------------------------


def test_strict_collects_every_blocking_diagnostic() -> None:
    flow = seq(call("dg_missing"), race(call(dg_write), call(dg_read)), call(dg_danger))
    with pytest.raises(ValidationError) as info:
        deploy(flow, tools=TOOLS)
    assert sorted(d.code for d in info.value.diagnostics) == ["APPROVAL_UNGATED", "RACE_UNSAFE", "UNRESOLVED_CALL"]


def test_non_strict_returns_a_deployment_that_refuses_to_run() -> None:
    d = deploy(seq(call(dg_read), call(dg_danger)), tools=TOOLS, strict=False)
    assert _codes(d) == ["APPROVAL_UNGATED"]
    with pytest.raises(ValidationError):
        d.dry_run("x")
    with pytest.raises(ValidationError):
        d.run(None)
    with pytest.raises(ValidationError):
        d.start(None)


def test_warnings_do_not_block() -> None:
    d = deploy(iter_up_to(5, call(dg_read)), tools=TOOLS, capabilities={"tools": [{"name": "dg_read", "maxCalls": 2}]})
    assert _codes(d) == ["CAP_MAX_CALLS"]
    assert d.blocking == ()


# -- freeze and snapshots ----------------------------------------------------------------


def test_mcp_hints_are_untrusted_until_asserted() -> None:
    tool_def = SNAPSHOT["search/web"]
    assert tool_def.kind == "mcp" and tool_def.server == "search" and tool_def.server_version == "1.3.0"
    assert tool_def.contract.effect is Effect.WRITE
    assert tool_def.contract.idempotency is Idempotency.NONE
    plain = freeze(call(mcp("search", "web")), tools=SNAPSHOT)
    asserted = freeze(
        call(mcp("search", "web")),
        tools=SNAPSHOT,
        capabilities={"tools": [{"name": "search/web", "effect": "read", "idempotency": "native"}]},
    )
    assert asserted.tools["search/web"].contract.effect is Effect.READ
    assert asserted.asserted == frozenset({"search/web"})
    assert plain.asserted == frozenset()
    assert plain.execution_hashes["search/web"] != asserted.execution_hashes["search/web"]
    assert asserted.manifest_json()["tools"]["search/web"]["asserted"] is True
    # The declared definition (and its hash) is the listing's, whatever the grant says.
    assert plain.tools["search/web"].definition_hash() != asserted.tools["search/web"].definition_hash()
    assert asserted.declared["search/web"].effect is Effect.WRITE


def test_definition_hash_covers_schema_annotations_and_version() -> None:
    def one(**listing: Any) -> str:
        snap = snapshot_from_listings({"s": {"t": listing}}, versions={"s": listing.pop("_v", "1.0")})
        return snap["s/t"].definition_hash()

    base = one(inputSchema={"type": "object"})
    assert base == one(inputSchema={"type": "object"})
    assert base != one(inputSchema={"type": "string"})
    assert base != one(inputSchema={"type": "object"}, annotations={"readOnlyHint": True})
    assert base != one(inputSchema={"type": "object"}, _v="1.1")


def test_snapshot_accepts_tools_list_shape_and_rejects_junk() -> None:
    snap = snapshot_from_listings({"s": [{"name": "a", "inputSchema": {}}, {"name": "b"}]})
    assert snap.keys() == ["s/a", "s/b"]
    from composable_agents.errors import FreezeError

    with pytest.raises(FreezeError):
        snapshot_from_listings({"s": {"a": {"bogus": 1}}})
    with pytest.raises(FreezeError):
        snapshot_from_listings({"s/x": {"a": {}}})


def test_seed_snapshot_example_deploys() -> None:
    from composable_agents import Reasoner
    from composable_agents.registry import DEFAULT_REGISTRY

    DEFAULT_REGISTRY.register_reasoner(Reasoner(name="dg_summarize", model="claude-x", system="Summarize."))
    flow = seq(call(mcp("search", "web")), think("dg_summarize"))
    snapshot = snapshot_from_listings(
        {
            "search": {
                "web": {
                    "inputSchema": {"type": "object"},
                    "annotations": {"readOnlyHint": True, "idempotentHint": True},
                }
            }
        }
    )
    d = deploy(flow, snapshot)
    assert d.diagnostics == ()
    assert "search/web" in d.manifest_json["tools"]


def test_per_run_freeze_timing_refreshes_definitions() -> None:
    reg = Registry()

    @tool(name="dg_volatile", effect="read", registry=reg)
    def v1(x: str) -> str:
        return x

    d = deploy(call("dg_volatile"), registry=reg, freeze_timing="per_run")

    @tool(name="dg_volatile", effect="read", idempotent=True, registry=reg, replace=True)
    def v2(x: str) -> str:
        return x + "!"

    fresh = d.refresh()
    assert fresh.artifact_hash != d.artifact_hash
    assert fresh.frozen.tools["dg_volatile"].contract.idempotency is Idempotency.NATIVE
    fixed = deploy(call("dg_volatile"), registry=reg)
    with pytest.raises(ValueError, match="per_run"):
        fixed.refresh()


def test_sub_flow_closure_is_frozen_and_checked() -> None:
    d = deploy(seq(call(dg_read), sub(CHILD)), tools=TOOLS)
    assert "dg.child.v1" in d.manifest_json["subflows"]
    danger_child = seq(call(dg_danger)).named("dg.danger.child.v1")
    with pytest.raises(ValidationError) as info:
        deploy(seq(call(dg_read), sub(danger_child)), tools=TOOLS)
    (only,) = info.value.diagnostics
    assert only.code == "APPROVAL_UNGATED" and only.node_id.startswith("sub:dg.danger.child.v1")
    ok = deploy(seq(human_gate("ok?"), sub(danger_child)), tools=TOOLS)
    assert ok.diagnostics == ()


# -- exists vs allowed, reserved tools, absent vs empty -------------------------------------


def test_nonexistent_tool_is_unresolved_not_denied() -> None:
    d = deploy(call("dg_ghost"), tools=TOOLS, capabilities={"tools": []}, strict=False)
    assert _codes(d) == ["UNRESOLVED_CALL"]


def test_reserved_tools_need_no_grant() -> None:
    d = deploy(seq(human_gate("ok?"), call(dg_read)), tools=TOOLS, capabilities={"tools": ["dg_read"]})
    assert d.diagnostics == ()


@pytest.mark.parametrize(
    ("section", "flow_code"),
    [
        ("tools", "CAP_TOOL_DENIED"),
        ("reasoners", "CAP_REASONER_DENIED"),
        ("models", "CAP_MODEL_DENIED"),
        ("subflows", "CAP_SUBFLOW_DENIED"),
        ("memory", "CAP_MEMORY_DENIED"),
    ],
)
def test_absent_section_is_unconstrained_and_empty_denies(section: str, flow_code: str) -> None:
    from composable_agents import ContextPolicy, ContextScope

    flow = seq(
        call(dg_read),
        think(DG_R, ctx=ContextPolicy(scope=ContextScope.SUMMARY)),
        sub(CHILD),
    )
    absent = deploy(flow, tools=TOOLS, reasoners=REASONERS, capabilities={})
    assert absent.diagnostics == ()
    empty = deploy(flow, tools=TOOLS, reasoners=REASONERS, capabilities={section: []}, strict=False)
    assert flow_code in _codes(empty)


def test_empty_budget_and_servers_deny() -> None:
    d = deploy(call(mcp("search", "web")), SNAPSHOT, capabilities={"mcp_servers": {}}, strict=False)
    assert _codes(d) == ["CAP_SERVER_DENIED"]
    d = deploy(call(dg_read, ann=Ann(cost_usd=0.01)), tools=TOOLS, capabilities={"budget": {"cost": 0}}, strict=False)
    assert _codes(d) == ["BUDGET_EXCEEDED"]


def test_server_wildcard_grant() -> None:
    d = deploy(call(mcp("srv", "denied")), SNAPSHOT, capabilities={"tools": ["srv/*"]})
    assert d.diagnostics == ()


# -- the manifest ---------------------------------------------------------------------------

SPEC_YAML = """
tools:
  - {name: search/web, effect: read, idempotency: native, maxCalls: 8}
  - {name: send_email, effect: dangerous, idempotency: required, approval: required}
reasoners: [support_reply]
models: [claude-haiku-4-5]
mcp_servers: {search: ">=1.2"}
memory: [local, summary]
network: [api.internal.example]
subflows: [triage.v1]
budget: {cost: 0.25, tokens: 20000, wallSeconds: 60}
"""


def test_manifest_from_yaml_matches_the_spec_format(tmp_path: Path) -> None:
    m = CapabilityManifest.from_yaml(SPEC_YAML)
    assert m.problems == ()
    assert m.to_json() == {
        "tools": [
            {"name": "search/web", "effect": "read", "idempotency": "native", "maxCalls": 8},
            {"name": "send_email", "effect": "dangerous", "idempotency": "required", "approval": "required"},
        ],
        "reasoners": ["support_reply"],
        "models": ["claude-haiku-4-5"],
        "memory": ["local", "summary"],
        "network": ["api.internal.example"],
        "subflows": ["triage.v1"],
        "mcp_servers": {"search": ">=1.2"},
        "budget": {"cost": 0.25, "tokens": 20000, "wallSeconds": 60.0},
    }
    assert CapabilityManifest.from_dict(m.to_json()).to_json() == m.to_json()
    path = tmp_path / "caps.yaml"
    path.write_text(SPEC_YAML, encoding="utf-8")
    assert CapabilityManifest.from_yaml(path).to_json() == m.to_json()
    assert CapabilityManifest.from_yaml(str(path)).to_json() == m.to_json()
    assert CapabilityManifest.from_yaml(m.to_yaml()).to_json() == m.to_json()


@pytest.mark.parametrize(
    ("doc", "path"),
    [
        ({"tools": [{"name": "a", "effect": "reed"}]}, "tools[0].effect"),
        ({"tools": ["a", {"name": "b", "colour": "red"}]}, "tools[1].colour"),
        ({"tools": [{"effect": "read"}]}, "tools[0].name"),
        ({"tools": "a"}, "tools"),
        ({"budget": {"cost": -1}}, "budget.cost"),
        ({"budget": {"tokens": 1.5}}, "budget.tokens"),
        ({"budget": {"cost": "cheap"}}, "budget.cost"),
        ({"mcp_servers": {"s": ">>1"}}, "mcp_servers.s"),
        ({"mcp_servers": {"s": [1]}}, "mcp_servers.s"),
        ({"memory": ["everything"]}, "memory[0]"),
        ({"reasoners": [1]}, "reasoners[0]"),
        ({"widgets": []}, "widgets"),
        ([1, 2], "$"),
    ],
)
def test_bad_manifests_are_diagnostics_naming_the_yaml_path(doc: Any, path: str) -> None:
    m = CapabilityManifest.from_dict(doc)
    assert [p.code for p in m.problems] == ["CAP_MANIFEST_INVALID"]
    assert m.problems[0].node_id == f"capabilities:{path}"
    assert m.problems[0].message.startswith(f"{path}: ")
    d = deploy(call(dg_read), tools=TOOLS, capabilities=doc, strict=False)
    assert "CAP_MANIFEST_INVALID" in _codes(d)


def test_invalid_yaml_is_a_diagnostic() -> None:
    m = CapabilityManifest.from_yaml("tools: [a, b\nmodels: {")
    assert [p.code for p in m.problems] == ["CAP_MANIFEST_INVALID"]
    assert "not valid YAML" in m.problems[0].message


@pytest.mark.parametrize(
    ("pin", "version", "ok"),
    [
        (">=1.2", "1.2.0", True),
        (">=1.2", "1.10", True),
        (">=1.2", "1.1.9", False),
        (">=1.2,<2", "2.0.0", False),
        ("==1.4.*", "1.4.7", True),
        ("==1.4.*", "1.5.0", False),
        ("^1.2", "1.9.0", True),
        ("^1.2", "2.0.0", False),
        ("~=1.2", "1.7", True),
        ("~=1.2", "2.0", False),
        ("*", None, True),
        (">=1", None, False),
        ("!=1.3", "1.3.0", False),
    ],
)
def test_version_constraints(pin: str, version: str | None, ok: bool) -> None:
    assert VersionConstraint.parse(pin).allows(version) is ok


# -- approval dominance through every op ------------------------------------------------------


@pytest.mark.parametrize(
    ("flow", "gated"),
    [
        (lambda: seq(human_gate("g"), call(dg_danger)), True),
        (lambda: seq(call(dg_danger), human_gate("g")), False),
        (lambda: seq(par(human_gate("g"), human_gate("h")), call(dg_danger)), True),
        (lambda: seq(par(human_gate("g"), call(dg_read)), call(dg_danger)), True),
        (lambda: par(human_gate("g"), call(dg_danger)), False),
        (lambda: seq(race(human_gate("g"), call(dg_read)), call(dg_danger)), False),
        (lambda: seq(race(human_gate("g"), human_gate("h")), call(dg_danger)), True),
        (lambda: seq(alt("std.branch_predicate", human_gate("g"), human_gate("h")), call(dg_danger)), True),
        (lambda: seq(alt("std.branch_predicate", human_gate("g"), call(dg_read)), call(dg_danger)), False),
        (lambda: alt("std.branch_predicate", seq(human_gate("g"), call(dg_danger)), call(dg_read)), True),
        (lambda: seq(each(human_gate("g")), call(dg_danger)), False),
        (lambda: each(seq(human_gate("g"), call(dg_danger))), True),
        (lambda: seq(iter_up_to(2, human_gate("g")), call(dg_danger)), True),
        (lambda: iter_up_to(2, seq(call(dg_danger), human_gate("g"))), False),
        (lambda: seq(human_gate("g", on_reject="value"), call(dg_danger)), True),
    ],
)
def test_approval_dominance(flow: Any, gated: bool) -> None:
    d = deploy(flow(), tools=TOOLS, strict=False)
    assert ("APPROVAL_UNGATED" not in _codes(d)) is gated


def test_approval_required_grant_needs_a_gate() -> None:
    caps = {"tools": [{"name": "dg_write", "approval": "required"}]}
    d = deploy(call(dg_write), tools=TOOLS, capabilities=caps, strict=False)
    assert _codes(d) == ["APPROVAL_UNGATED"]
    assert d.frozen.tools["dg_write"].contract.approval is True
    ok = deploy(seq(human_gate("ok?"), call(dg_write)), tools=TOOLS, capabilities=caps)
    assert ok.diagnostics == ()


# -- constructors and IR conventions ----------------------------------------------------------------


def test_race_family_lowering() -> None:
    r = race([call(dg_read), call(dg_upper)], reduce="std.collect").to_ir()
    assert isinstance(r, Par) and r.merge is Merge.RACE and r.reducer is not None
    assert race(call(dg_read), call(dg_upper)).to_ir() == race([call(dg_read), call(dg_upper)]).to_ir()
    h = hedge([call(dg_read), call(dg_upper)], hedge_ms=250).to_ir()
    assert isinstance(h, Par) and h.merge is Merge.HEDGE and h.hedge_ms == 250
    q = quorum([call(dg_read), call(dg_upper), call(dg_read)], k=2).to_ir()
    assert isinstance(q, Par) and q.merge is Merge.QUORUM and q.k == 2
    assert q.to_json()["merge"] == "quorum" and h.to_json()["hedgeMs"] == 250
    with pytest.raises(CompositionError):
        quorum([call(dg_read)], k=2)
    with pytest.raises(CompositionError):
        hedge([call(dg_read)], hedge_ms=-1)
    with pytest.raises(CompositionError):
        race()


def test_human_gate_lowering() -> None:
    g = human_gate("Send the email?", timeout_s=30)
    node = g.to_ir()
    assert isinstance(node, Prim) and isinstance(node.step, CallStep)
    assert node.step.tool == "__human_gate__"
    assert node.step.args == {"prompt": "Send the email?", "onReject": "end"}
    assert node.ann is not None and node.ann.timeout_s == 30
    assert human_gate("x", on_reject="value").to_ir().step.args == {"prompt": "x", "onReject": "value"}  # type: ignore[attr-defined]
    with pytest.raises(CompositionError):
        human_gate("x", on_reject="maybe")  # type: ignore[arg-type]
    with pytest.raises(CompositionError):
        human_gate("x", timeout_s=0)


def test_source_capture_points_at_the_user_line() -> None:
    from composable_agents.core.source import source_capture_enabled

    assert source_capture_enabled()  # on by default on every surface (SPEC §22.10)
    flow = race(call(dg_read), call(dg_write)); line = sys._getframe().f_lineno
    node = flow.to_ir()
    assert node.src is not None and node.src.file == "test_deploy_gates.py" and node.src.line == line
    set_source_capture(False)
    try:
        gate = human_gate("x")
    finally:
        set_source_capture(True)
    assert gate.to_ir().src is None  # switched off, nothing is captured
    d = deploy(seq(call(dg_read), flow), tools=TOOLS, strict=False)
    text = explain(d.diagnostics)
    assert f"    --> test_deploy_gates.py:{line}  (flow = race(call(dg_read), call(dg_write));" in text


# -- validate details ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "secret"),
    [
        ("api_key", "abcd1234", True),
        ("password", "hunter22", True),
        ("max_tokens", "2000", False),
        ("token", "env:GITHUB_TOKEN", False),
        (None, "sk-proj-abcdefghijklmnop", True),
        (None, "ghp_0123456789abcdefghijABCDEFGHIJ", True),
        (None, "AKIAABCDEFGHIJKLMNOP", True),
        (None, "q8Zr2LkP9vX1mN4tB7cW0yH3jD6fG5sA", True),
        (None, "the quick brown fox jumps over the lazy dog again", False),
        (None, "sha256:" + "ab" * 32, False),
        ("schema", "string", False),
        (None, "https://api.internal.example/v1/search", False),
    ],
)
def test_secret_shapes(key: str | None, value: str, secret: bool) -> None:
    assert looks_secret(key, value) is secret


def test_schema_edges_are_conservative() -> None:
    from composable_agents.compiler.validate import validate

    assert [d.code for d in validate(freeze(seq(call(dg_read), call(dg_upper)), tools=[t.definition for t in TOOLS]))] == []
    found = validate(freeze(seq(call("dg_count"), call(dg_upper)), tools=[t.definition for t in TOOLS]))
    assert [d.code for d in found] == ["SCHEMA_MISMATCH"]


def test_static_budget_estimate() -> None:
    frozen = freeze(
        seq(
            iter_up_to(3, call(dg_read, ann=Ann(cost_usd=0.1))),
            alt("std.branch_predicate", call(dg_read, ann=Ann(cost_usd=0.5)), call(dg_read, ann=Ann(cost_usd=0.2))),
            think(DG_R, ann=Ann(cost_usd=0.05)),
        ),
        tools=[t.definition for t in TOOLS],
        reasoners=REASONERS,
    )
    est = estimate(frozen)
    assert est.cost == pytest.approx(0.3 + 0.5 + 0.05)
    assert est.calls["dg_read"] == 4


def test_retry_on_idempotent_tools_is_allowed() -> None:
    d = deploy(call(dg_read, ann=Ann(max_attempts=5, retry_interval_s=0.5, backoff_rate=2.0)), tools=TOOLS)
    assert d.diagnostics == ()
    caps = {"tools": [{"name": "dg_write", "idempotency": "required"}]}
    d = deploy(call(dg_write, ann=Ann(max_attempts=3)), tools=TOOLS, capabilities=caps)
    assert d.diagnostics == ()


def test_diagnostics_are_json_data() -> None:
    d = deploy(seq(call(dg_read), call(dg_danger)), tools=TOOLS, strict=False)
    assert json.loads(json.dumps([x.to_json() for x in d.diagnostics]))[0]["code"] == "APPROVAL_UNGATED"


def test_dangerous_tool_outside_a_gate_is_refused_in_a_flow() -> None:
    import composable_agents

    flow = getattr(composable_agents, "flow", None)
    if flow is None:
        pytest.skip("@flow is not available")

    @flow
    def send(x: str) -> str:
        y = dg_read(x)
        return dg_danger(y)  # type: ignore[no-any-return]

    with pytest.raises(ValidationError) as info:
        deploy(send, tools=TOOLS)
    assert [d.code for d in info.value.diagnostics] == ["APPROVAL_UNGATED"]
    assert "dangerous tool 'dg_danger' is reachable without a human_gate before it" in str(info.value)


def test_run_without_the_temporal_extra_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "temporalio" else real(name, *a))
    d = deploy(call(dg_read), tools=TOOLS)
    with pytest.raises(ImportError, match=r"pip install 'composable-agents\[temporal\]'"):
        d.run(None, session_id="s", input="x")


def test_artifact_hash_covers_pure_pins_and_policy() -> None:
    from composable_agents import ExecutionPolicy, arr

    reg = Registry()

    def body_a(x: str) -> str:
        return x

    def body_b(x: str) -> str:
        return x + "?"

    reg.register_pure("dg.pinned", body_a)
    first = deploy(arr("dg.pinned"), tools=[], registry=reg)
    reg.register_pure("dg.pinned", body_b, replace=True)
    second = deploy(arr("dg.pinned"), tools=[], registry=reg)
    assert first.manifest_json["pures"] != second.manifest_json["pures"]
    assert first.artifact_hash != second.artifact_hash
    third = deploy(arr("dg.pinned"), tools=[], registry=reg, policy=ExecutionPolicy(check_types=False))
    assert third.artifact_hash != second.artifact_hash
