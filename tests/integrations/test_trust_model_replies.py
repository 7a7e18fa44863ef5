"""SPEC §22.8 for real providers: a model's JSON (structured reply, tool-call arguments) is decoded strictly.

A repeated key in a structured reply is an error reply (never "the last
value wins"), and repeated keys in tool-call arguments are kept unparsed.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from composable_agents.integrations.models._wire import Request
from composable_agents.integrations.models.openai import map_reply


def _completion(content: str, arguments: str | None = None) -> Any:
    calls = []
    if arguments is not None:
        calls.append(SimpleNamespace(id="c1", function=SimpleNamespace(name="finish", arguments=arguments)))
    message = SimpleNamespace(content=content, refusal=None, tool_calls=calls)
    usage = SimpleNamespace(prompt_tokens=3, completion_tokens=4, prompt_tokens_details=None)
    return SimpleNamespace(choices=[SimpleNamespace(message=message, finish_reason="stop")], usage=usage, model="m")


def _request(schema: dict[str, Any] | None) -> Request:
    return Request(model="m", system="s", turns=(), max_tokens=10, reply_schema=schema)


def test_a_structured_reply_with_a_repeated_key_is_not_json() -> None:
    schema = {"type": "object", "properties": {"tool": {"type": "string"}}}
    reply = map_reply(_completion('{"tool": "safe", "tool": "evil"}'), _request(schema))
    assert not reply.has_output and reply.output is None
    assert reply.output_error is not None and "duplicate object key 'tool'" in reply.output_error
    ok = map_reply(_completion('{"tool": "safe"}'), _request(schema))
    assert ok.has_output and ok.output == {"tool": "safe"}


def test_tool_call_arguments_with_a_repeated_key_stay_unparsed() -> None:
    reply = map_reply(_completion("", '{"value": 1, "value": 2}'), _request(None))
    (use,) = reply.tool_uses
    assert use.input == {"__unparsed__": '{"value": 1, "value": 2}'}
