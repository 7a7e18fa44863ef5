"""SPEC §22.5 as a property: a generated credential placed anywhere is found, refused and redacted.

A credential from one of the families the detector knows (provider keys,
bearer headers, JWTs, URL credentials, credential-named keys in any case
style) is put inside generated prose, inside a nested JSON value, under a
random key. Deploy refuses it as ``SECRET_ARG`` in static args, and
:func:`redact` leaves no trace of it.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from composable_agents import arr, deploy
from composable_agents.core.secrets import looks_secret, redact
from composable_agents.errors import ValidationError

_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_prose = st.text(alphabet=" abcdefghijklmnopqrstuvwxyz.,!?", max_size=30)
_plain_keys = st.sampled_from(["note", "body", "text", "header", "url", "message", "detail", "hint"])


@st.composite
def _core(draw: Any, size: int) -> str:
    """Random letters and digits with at least one digit and one letter."""
    body = draw(st.text(alphabet=_ALNUM, min_size=size, max_size=size + 8))
    return "9" + body + "Q"


@st.composite
def placed_secrets(draw: Any) -> tuple[str | None, str, str]:
    """``(key, text, core)``: ``text`` holds the credential whose unique part is ``core``."""
    family = draw(st.sampled_from(["sk", "ghp", "akia", "jwt", "bearer", "userinfo", "query", "keyed", "assign"]))
    before, after = draw(_prose), draw(_prose)
    key: str | None = draw(_plain_keys)
    if family == "sk":
        core = draw(_core(16))
        secret = f"sk-live-{core}"
    elif family == "ghp":
        core = draw(_core(36))
        secret = f"ghp_{core}"
    elif family == "akia":
        core = draw(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=16, max_size=16))
        secret = f"AKIA{core}"
    elif family == "jwt":
        core = draw(_core(20))
        secret = f"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOi{core}.{core[::-1]}"
    elif family == "bearer":
        core = draw(_core(20))
        secret = f'Authorization: "Bearer {core}"'
    elif family == "userinfo":
        core = draw(_core(8))
        secret = f"https://admin:{core}@db.internal.example/prod"
    elif family == "query":
        core = draw(_core(12))
        param = draw(st.sampled_from(["api_key", "apikey", "token", "access_token", "key", "sig"]))
        secret = f"https://api.example.com/v1/search?q=x&{param}={core}"
    elif family == "assign":
        core = draw(_core(8))
        word = draw(st.sampled_from(["password", "dbPassword", "api_key", "secret", "auth_token", "passwd"]))
        secret = f"{word}={core}"
    else:
        core = draw(_core(6))
        key = draw(st.sampled_from(["dbPassword", "DB_PASSWORD", "X-Api-Key", "apiKey", "client_secret", "authToken", "Authorization"]))
        return key, core, core
    return key, f"{before} {secret} {after}".strip(), core


@st.composite
def nested(draw: Any) -> tuple[dict[str, Any], str]:
    key, text, core = draw(placed_secrets())
    value: Any = {key or "note": text}
    for _ in range(draw(st.integers(0, 3))):
        wrap = draw(st.sampled_from(["list", "dict"]))
        value = [draw(st.integers()), value] if wrap == "list" else {draw(_plain_keys): value, "n": 1}
    return {"outer": value}, core


@given(placed_secrets())
def test_a_credential_anywhere_in_a_string_is_secret_shaped(case: tuple[str | None, str, str]) -> None:
    key, text, core = case
    assert looks_secret(key, text), (key, text)
    red = redact({key or "note": text})
    assert core not in json.dumps(red)


@settings(max_examples=40)
@given(nested())
def test_deploy_refuses_and_redact_removes_a_nested_credential(case: tuple[dict[str, Any], str]) -> None:
    consts, core = case
    try:
        deploy(arr("std.bind", consts=consts), tools=[], reasoners=[])
    except ValidationError as exc:
        assert [d.code for d in exc.diagnostics] == ["SECRET_ARG"]
    else:  # pragma: no cover - the property fails here
        raise AssertionError(f"deployed a credential: {consts}")
    assert core not in json.dumps(redact(consts))
