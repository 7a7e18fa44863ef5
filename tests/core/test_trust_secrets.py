"""SPEC §22.5: the one credential detector finds a secret anywhere in a string; redact removes it."""

from __future__ import annotations

import pytest

from composable_agents.core.secrets import (
    REDACTED,
    find_secret,
    looks_secret,
    redact,
    redact_text,
    secret_key_name,
)

JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (None, f'Authorization: "Bearer {JWT}"'),
        ("Authorization", f"Bearer {JWT}"),
        ("headers", f"Bearer {JWT}"),
        (None, JWT),
        ("dbPassword", "correct-horse"),
        ("DB_PASSWORD", "hunter22"),
        ("X-Api-Key", "abcd1234"),
        ("clientSecret", "s3cr3t"),
        ("APIKey", "k-1234"),
        (None, "https://api.example.com/v1/search?api_key=abc123def456&q=x"),
        (None, "https://admin:hunter22@db.internal.example/prod"),
        (None, "please call it with sk-live-1234567890abcdef when ready"),
        (None, "You are a bot. Key: sk-ant-api03-abcdefghijklmnopqrstuv"),
        (None, "the admin password is hunter22, do not share"),
        (None, "connect with password=Tr0ub4dor"),
        (None, "use dbPassword=Xy12ab for the database"),
        (None, "token ghp_0123456789abcdefghijABCDEFGHIJ in a sentence"),
        (None, "aws AKIAABCDEFGHIJKLMNOP here"),
        (None, "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA"),
        (None, "a random key q8Zr2LkP9vX1mN4tB7cW0yH3jD6fG5sA inside text"),
    ],
)
def test_credentials_anywhere_in_a_string_are_found(key: str | None, value: str) -> None:
    assert looks_secret(key, value)
    assert REDACTED in str(redact({key or "note": value}))


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("api_key", "env://OPENAI_API_KEY"),
        ("password", "secret://prod/db/password"),
        (None, "env://GITHUB_TOKEN"),
        ("token", "env:GITHUB_TOKEN"),
        ("prompt", "Approve the refund for order 1234?"),
        (None, "Enter your password: please"),
        (None, "the token is expired"),
        (None, "Summarize the ticket and keep the token budget small."),
        (None, "https://api.internal.example/v1/search"),
        (None, "sha256:" + "ab" * 32),
        (None, "123e4567-e89b-12d3-a456-426614174000"),
        (None, "task-reassignment-worker"),
        (None, "composable_agents.execution.interpreter.Program"),
        ("max_tokens", "2000"),
        ("password_hash", "abc"),
        ("schema", "string"),
    ],
)
def test_ordinary_text_and_references_are_not_secrets(key: str | None, value: str) -> None:
    assert not looks_secret(key, value)
    assert redact({key or "note": value}) == {key or "note": value}


def test_key_names_in_every_case_style() -> None:
    for name in ("api_key", "apiKey", "ApiKey", "API-KEY", "x-api-key", "dbPassword", "db.password", "AUTH_TOKEN",
                 "accessToken", "refresh_token", "Authorization", "client_secret", "privateKey"):
        assert secret_key_name(name), name
    for name in ("max_tokens", "token_count", "password_hash", "keyboard", "author", "monkey", "prompt"):
        assert not secret_key_name(name), name


def test_redact_keeps_the_text_around_a_credential_and_the_shape_of_the_value() -> None:
    value = {
        "out": f"called with Bearer {JWT} ok",
        "items": [1, 2.5, True, None, "plain"],
        "nested": {"headers": {"Authorization": "Bearer abcdefghijklmnop1234"}, "token": "xyz123"},
    }
    red = redact(value)
    assert red["out"] == f"called with Bearer {REDACTED} ok"
    assert red["items"] == value["items"]
    assert red["nested"] == {"headers": {"Authorization": REDACTED}, "token": REDACTED}
    assert JWT not in str(red)
    plain = {"a": [1, {"b": "c"}]}
    assert redact(plain) is plain  # nothing to redact: the same object, no copy


def test_redact_text_replaces_every_credential() -> None:
    text = "k1 sk-live-1234567890abcdef and ghp_0123456789abcdefghijABCDEFGHIJ end"
    assert redact_text(text) == f"k1 {REDACTED} and {REDACTED} end"
    assert find_secret("nothing here") is None


def test_redact_never_raises_on_deep_values() -> None:
    deep: object = "sk-live-1234567890abcdef"
    for _ in range(5000):
        deep = [deep]
    out = redact(deep)
    strings: list[str] = []
    stack = [out]
    while stack:  # iterative: the value is deeper than repr() can print
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        else:
            strings.append(item)
    assert strings and all("sk-live" not in s for s in strings)
