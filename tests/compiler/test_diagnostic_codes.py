"""Every diagnostic code: triggered by a small deployment, ``explain()`` text pinned exactly."""

from __future__ import annotations

import pytest
from dg_cases import CASES

from composable_agents.compiler.diagnostics import CODES

EXPECTED: dict[str, str] = {
    'UNRESOLVED_CALL': (
        'Blocking diagnostics:\n'
        "- [UNRESOLVED_CALL@$.1] error: tool 'dg_missing' does not exist in this deployment\n"
        '    fix: Pass the tool in deploy(tools=[...]) or the snapshot, or fix the tool key.'
    ),
    'UNRESOLVED_REASONER': (
        'Blocking diagnostics:\n'
        "- [UNRESOLVED_REASONER@$] error: reasoner 'dg_nobody' does not exist in this deployment\n"
        '    fix: Pass the Reasoner in deploy(reasoners=[...]) or register it on the registry.'
    ),
    'UNKNOWN_PURE': (
        'Blocking diagnostics:\n'
        "- [UNKNOWN_PURE@$.1] error: pure 'dg.nope' is not registered\n"
        '    fix: Decorate the function with @pure(name) (or register_pure) before deploying.'
    ),
    'UNRESOLVED_SUBFLOW': (
        'Blocking diagnostics:\n'
        "- [UNRESOLVED_SUBFLOW@$] error: sub-flow 'dg.missing.v1' is not a named flow\n"
        "    fix: Name the child flow with .named('dg.missing.v1') before deploying the parent."
    ),
    'MALFORMED_NODE': (
        'Blocking diagnostics:\n'
        '- [MALFORMED_NODE@$] error: quorum needs 1 <= k <= 2 (the branch count), got k=5\n'
        '    fix: Rebuild the node with its kernel constructor; the message says which field is wrong.'
    ),
    'RETRY_RANGE': (
        'Blocking diagnostics:\n'
        '- [RETRY_RANGE@$] error: maxAttempts must be an integer >= 1, got 0\n'
        '    fix: Use maxAttempts >= 1, retryIntervalS >= 0 and backoffRate >= 1.\n'
        '- [RETRY_RANGE@$] error: backoffRate must be >= 1, got 0.5\n'
        '    fix: Use maxAttempts >= 1, retryIntervalS >= 0 and backoffRate >= 1.'
    ),
    'RETRY_UNSAFE': (
        'Blocking diagnostics:\n'
        "- [RETRY_UNSAFE@$] error: tool 'dg_write' is write/none but asks for maxAttempts=3\n"
        '    fix: Drop the retries, or make the tool idempotent (@tool(idempotent=True) or a capability grant asserting idempotency: required).'
    ),
    'SCHEMA_MISMATCH': (
        'Blocking diagnostics:\n'
        "- [SCHEMA_MISMATCH@$.1] error: tool 'dg_count' returns integer but tool 'dg_upper' takes string\n"
        '    fix: Insert an arr(...) adapter between the steps, or fix one of the types.'
    ),
    'SECRET_ARG': (
        'Blocking diagnostics:\n'
        "- [SECRET_ARG@$.1] error: args of pure 'std.bind': args.consts.api_key looks like a secret\n"
        "    fix: Pass a credential reference through the run's principal (or the worker's configuration), never a secret in the flow."
    ),
    'WHOLE_SESSION_PAR': (
        'Other diagnostics:\n'
        "- [WHOLE_SESSION_PAR@$.0] warning: reasoner 'dg_writer' reads the whole session inside a par; the par's branches will run sequentially\n"
        "    fix: Give the leaf ctx=ContextPolicy(scope='summary') or 'local', or move it out of the par."
    ),
    'CAP_MANIFEST_INVALID': (
        'Blocking diagnostics:\n'
        "- [CAP_MANIFEST_INVALID@capabilities:tools[0].effect] error: tools[0].effect: unknown effect 'reed' (read, write, external, dangerous)\n"
        '    fix: Fix the manifest entry at the path shown; see the format in docs/diagnostics.md.\n'
        "- [CAP_TOOL_DENIED@$] error: tool 'dg_read' is not granted\n"
        "    fix: Add this tool to the capability manifest's tools: allow-list, or remove the call."
    ),
    'CAP_TOOL_DENIED': (
        'Blocking diagnostics:\n'
        "- [CAP_TOOL_DENIED@$.1] error: tool 'srv/denied' is not granted\n"
        "    fix: Add this tool to the capability manifest's tools: allow-list, or remove the call."
    ),
    'CAP_APP_TOOL_DENIED': (
        'Blocking diagnostics:\n'
        "- [CAP_APP_TOOL_DENIED@$] error: agent loop tool 'dg_write' is not granted\n"
        "    fix: Add this tool to the capability manifest's tools: allow-list, or remove it from the app."
    ),
    'CAP_APP_APPROVAL_TOOL': (
        'Blocking diagnostics:\n'
        "- [CAP_APP_APPROVAL_TOOL@$] error: agent loop lists 'dg_danger', which needs human approval, as a directly callable tool\n"
        '    fix: Remove the tool from the app and call it in the flow behind human_gate(...).'
    ),
    'CAP_REASONER_DENIED': (
        'Blocking diagnostics:\n'
        "- [CAP_REASONER_DENIED@$] error: reasoner 'dg_writer' is not granted\n"
        "    fix: Add the reasoner's name to the capability manifest's reasoners: list."
    ),
    'CAP_MODEL_DENIED': (
        'Blocking diagnostics:\n'
        "- [CAP_MODEL_DENIED@$] error: reasoner 'dg_writer' needs model 'claude-haiku-4-5' but models: allows none\n"
        "    fix: List the reasoner's model id under models:, or remove the reasoner."
    ),
    'CAP_MODEL_ID_DENIED': (
        'Blocking diagnostics:\n'
        "- [CAP_MODEL_ID_DENIED@$] error: model 'claude-haiku-4-5' of reasoner 'dg_writer' is not granted\n"
        "    fix: Add the model id to the capability manifest's models: list, or switch the reasoner's model."
    ),
    'CAP_SUBFLOW_DENIED': (
        'Blocking diagnostics:\n'
        "- [CAP_SUBFLOW_DENIED@$.1] error: sub-flow 'dg.child.v1' is not granted\n"
        "    fix: Add the flow's name to the capability manifest's subflows: list."
    ),
    'CAP_SERVER_DENIED': (
        'Blocking diagnostics:\n'
        "- [CAP_SERVER_DENIED@$] error: MCP server 'srv' (tool 'srv/denied') is not granted\n"
        "    fix: Add the server (with a version pin) to the capability manifest's mcp_servers:."
    ),
    'CAP_VERSION_PIN': (
        'Blocking diagnostics:\n'
        "- [CAP_VERSION_PIN@$] error: MCP server 'search' is version 1.3.0, which does not satisfy the pin '>=2.0'\n"
        '    fix: Freeze against a server version that satisfies the pin, or relax the pin.'
    ),
    'NETWORK_DENIED': (
        'Blocking diagnostics:\n'
        "- [NETWORK_DENIED@$] error: tool 'dg_weather' calls host 'api.dg.example', which the manifest's network: section does not grant\n"
        "    fix: Add the host to the capability manifest's network: list, or point the tool at a granted host."
    ),
    'CAP_MEMORY_DENIED': (
        'Blocking diagnostics:\n'
        "- [CAP_MEMORY_DENIED@$] error: memory scope 'summary' is not granted\n"
        "    fix: Add the scope to the capability manifest's memory: list, or narrow the leaf's ctx=."
    ),
    'CAP_ASSERT_CONFLICT': (
        'Blocking diagnostics:\n'
        "- [CAP_ASSERT_CONFLICT@$.1] error: the grant for tool 'dg_danger' asserts effect 'read', weaker than its declared 'dangerous'\n"
        "    fix: Remove the grant's effect: assertion, or change the tool's declared effect."
    ),
    'CAP_MAX_CALLS': (
        'Other diagnostics:\n'
        "- [CAP_MAX_CALLS@$] warning: the flow may make up to 5 calls to 'dg_read'; its grant allows maxCalls=3\n"
        '    fix: Raise maxCalls in the grant, or bound the loop that repeats the call.'
    ),
    'RACE_UNASSERTED': (
        'Blocking diagnostics:\n'
        "- [RACE_UNASSERTED@$.0] error: MCP tool 'search/web' in a race branch of $ is not asserted; its hints are untrusted, so it counts as write/none\n"
        '    fix: Assert the tool in the capability manifest (effect: read, or idempotency: native/required).\n'
        "- [RACE_UNASSERTED@$.1] error: MCP tool 'search/web' in a race branch of $ is not asserted; its hints are untrusted, so it counts as write/none\n"
        '    fix: Assert the tool in the capability manifest (effect: read, or idempotency: native/required).'
    ),
    'RACE_UNSAFE': (
        'Blocking diagnostics:\n'
        "- [RACE_UNSAFE@$.1] error: tool 'dg_write' (write/none) runs in a race branch of $; a duplicated branch could repeat its effect\n"
        '    fix: Race only read-only or idempotent tools; run this tool after the race settles.'
    ),
    'RACE_SUB': (
        'Blocking diagnostics:\n'
        "- [RACE_SUB@$.0] error: sub-flow 'dg.child.v1' runs in a race branch of $\n"
        "    fix: Inline the child's steps into the branch, or run the sub after the race settles."
    ),
    'APPROVAL_UNGATED': (
        'Blocking diagnostics:\n'
        "- [APPROVAL_UNGATED@$.1] error: dangerous tool 'dg_danger' is reachable without a human_gate before it\n"
        '    fix: Put human_gate(prompt=...) before this call on every path that reaches it.'
    ),
    'BUDGET_EXCEEDED': (
        'Blocking diagnostics:\n'
        '- [BUDGET_EXCEEDED@$] error: estimated cost $0.3000 exceeds budget.cost $0.2500\n'
        '    fix: Raise budget.cost (or budget.tokens), lower Ann(cost_usd=...) estimates, or bound loops tighter.'
    ),
}


@pytest.fixture(autouse=True)
def _no_source_lines() -> object:
    """The pinned texts leave out ``--> file:line`` (capture is on by default; its lines are tested elsewhere)."""
    from composable_agents.core.source import set_source_capture

    set_source_capture(False)
    yield
    set_source_capture(True)


@pytest.mark.parametrize("code", sorted(CASES))
def test_code_is_triggered_and_explained(code: str) -> None:
    deployment = CASES[code]()
    assert code in {d.code for d in deployment.diagnostics}
    assert deployment.explain() == EXPECTED[code]


def test_every_catalogued_code_has_a_case() -> None:
    assert set(CODES) == set(CASES)


def test_blocking_codes_refuse_to_run_and_warnings_do_not() -> None:
    for code, build in CASES.items():
        deployment = build()
        severity = CODES[code][0]
        found = [d for d in deployment.diagnostics if d.code == code]
        assert all(d.severity == severity for d in found), code
        if severity == "error":
            assert deployment.blocking



def test_docs_list_every_code_with_its_fix() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "diagnostics.md").read_text(encoding="utf-8")
    for code, (severity, _meaning, fix) in CODES.items():
        assert f"#### `{code}` ({severity})" in doc, code
        assert f"**Fix:** {fix}" in doc, code
