"""SPEC §22.5 at deploy and in projections: secrets anywhere are refused; stored projections redact.

Each case is one way a credential reached an artifact (and so a Temporal
history) before: a bearer header, a camelCase key, a key inside a URL or a
sentence, a gate prompt, an f-string capture, a reasoner's system prompt and
a capability manifest.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from composable_agents import (
    CapabilityManifest,
    Reasoner,
    arr,
    call,
    deploy,
    flow,
    human_gate,
    seq,
    think,
    tool,
)
from composable_agents.core.secrets import REDACTED
from composable_agents.errors import DefineError, ValidationError

JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
KEY = "sk-live-1234567890abcdef"


@tool(name="trs_read", effect="read", idempotent=True)
def trs_read(q: str) -> str:
    return q


@tool(name="trs_fetch", effect="read", idempotent=True)
def trs_fetch(q: str) -> dict[str, str]:
    return {"body": f"Authorization: Bearer {JWT}", "echo": q, "access_token": "tok-9f8e7d6c5b4a"}


TRS_WRITER = Reasoner("trs_writer", "claude-haiku-4-5", system="Write.")


def _secret_codes(build: Any, **kwargs: Any) -> list[str]:
    with pytest.raises(ValidationError) as info:
        deploy(build, **{"tools": [trs_read], "reasoners": [], **kwargs})
    return [d.code for d in info.value.diagnostics if d.code == "SECRET_ARG"]


@pytest.mark.parametrize(
    "consts",
    [
        {"headers": {"Authorization": f"Bearer {JWT}"}},
        {"header": f'Authorization: "Bearer {JWT}"'},
        {"dbPassword": "correct-horse-battery"},
        {"url": "https://api.example.com/v1/search?api_key=abc123def456"},
        {"dsn": "postgres://admin:hunter22@db.internal.example/prod"},
        {"note": f"use the key {KEY} for the upstream"},
        {"note": "the admin password is hunter22"},
    ],
)
def test_secret_static_args_are_refused(consts: dict[str, Any]) -> None:
    assert _secret_codes(seq(call(trs_read), arr("std.bind", consts=consts))) == ["SECRET_ARG"]


def test_references_are_allowed() -> None:
    flow_ = seq(call(trs_read), arr("std.bind", consts={"api_key": "env://UPSTREAM_KEY", "dbPassword": "secret://db"}))
    assert deploy(flow_, tools=[trs_read], reasoners=[]).diagnostics == ()


def test_a_gate_prompt_with_a_key_is_refused() -> None:
    assert _secret_codes(seq(human_gate(f"Approve? The token is {KEY}"), call(trs_read))) == ["SECRET_ARG"]


def test_a_reasoner_definition_with_a_key_is_refused() -> None:
    leaky = Reasoner("trs_leaky", "claude-haiku-4-5", system=f"You are a bot. Call the API with {KEY}.")
    with pytest.raises(ValidationError) as info:
        deploy(think(leaky), tools=[], reasoners=[leaky])
    found = [d for d in info.value.diagnostics if d.code == "SECRET_ARG"]
    assert len(found) == 1 and "trs_leaky" in found[0].message and "system" in found[0].message
    clean = Reasoner("trs_clean", "claude-haiku-4-5", system="Use the key at env://UPSTREAM_KEY.")
    assert deploy(think(clean), tools=[], reasoners=[clean]).diagnostics == ()


def test_a_manifest_with_a_credential_is_refused() -> None:
    manifest = {"tools": ["trs_read"], "network": ["https://admin:hunter22@api.internal.example"]}
    problems = CapabilityManifest.from_dict(manifest).problems
    assert [p.code for p in problems] == ["SECRET_ARG"]
    assert _secret_codes(call(trs_read), capabilities=manifest) == ["SECRET_ARG"]
    yaml_text = f"tools:\n  - {{name: trs_read, effect: read}}\nmcp_servers: {{search: '>=1.2'}}\nnetwork: ['{KEY}']\n"
    assert [p.code for p in CapabilityManifest.from_yaml(yaml_text).problems] == ["SECRET_ARG"]


def test_an_f_string_capture_is_refused_at_definition() -> None:
    with pytest.raises(DefineError, match="secret-shaped capture"):

        @flow
        def leaky(q: str) -> Any:
            return think(TRS_WRITER, q, note=f"call it with {KEY} please")


def test_stored_and_exported_projections_redact_tool_outputs() -> None:
    d = deploy(call(trs_fetch), tools=[trs_fetch], reasoners=[])
    result = d.dry_run("q1")
    assert result.status == "ok"
    assert JWT in result.value["body"]  # the run's own value is the user's: only projections redact
    exported = json.dumps(result.projection.to_json())
    assert JWT not in exported and "tok-9f8e7d6c5b4a" not in exported
    assert REDACTED in exported and '"echo": "q1"' in exported
    assert JWT not in json.dumps(result.projection.comparable())
    assert all(JWT not in json.dumps(v) for v in result.projection.values)


def test_a_session_carrier_and_switch_cases_are_scanned_too() -> None:
    from composable_agents import alt, scan

    chat = scan(arr("std.pluck", key="msg") >> arr("std.init", key="x") >> arr("std.pluck", key="x"),
                init={"dbPassword": "hunter22!"})
    assert _secret_codes(chat) == ["SECRET_ARG"]
    switch = alt("std.branch_selector", cases={f"route {KEY}": call(trs_read)}, default=call(trs_read))
    assert _secret_codes(switch) == ["SECRET_ARG"]
