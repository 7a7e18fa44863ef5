"""Requests and structured replies through the real SDK clients against the local LLM server."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from llm_server import LLMServer, anthropic_text, anthropic_tool, openai_json, openai_text

from composable_agents import deploy, think
from composable_agents.authoring.leaves import Reasoner
from composable_agents.errors import CompositionError, StepTypeError
from composable_agents.integrations.models import Router


@dataclass
class Triage:
    label: str
    urgent: bool


TEXT_A = Reasoner("mr_text_a", "anthropic:claude-haiku-4-5", system="Answer briefly.", max_tokens=200, temperature=0.2)
TEXT_O = Reasoner("mr_text_o", "openai:gpt-4o-mini", system="Answer briefly.")
TRIAGE_A = Reasoner("mr_triage_a", "anthropic:claude-haiku-4-5", system="Triage.", reply=Triage)
TRIAGE_O = Reasoner("mr_triage_o", "openai:gpt-4o-mini", system="Triage.", reply=Triage)
TRIAGE_STRICT = Reasoner("mr_triage_0", "anthropic:claude-haiku-4-5", reply=Triage, output_retries=0)
LABELS_O = Reasoner("mr_labels_o", "openai:gpt-4o-mini", reply=list[str])


def test_anthropic_request_has_system_one_user_message_and_the_reasoner_settings(llm_server: LLMServer, llm: Router) -> None:
    llm_server.script("anthropic", anthropic_text("Refund issued."))
    result = deploy(think(TEXT_A)).dry_run({"ticket": "T-1", "text": "charged twice"}, llm=llm)
    assert result.value == "Refund issued."
    (req,) = llm_server.requests
    assert req.path == "/v1/messages"
    assert "test-key" in (req.headers.get("x-api-key", ""), req.headers.get("authorization", "").removeprefix("Bearer "))
    body = req.body
    assert body["model"] == "claude-haiku-4-5"
    assert body["system"] == "Answer briefly."
    assert body["messages"] == [{"role": "user", "content": '{"ticket":"T-1","text":"charged twice"}'}]
    assert body["max_tokens"] == 200
    assert body["temperature"] == 0.2
    assert "tools" not in body and "tool_choice" not in body


def test_openai_request_puts_system_first_and_defaults_max_tokens(llm_server: LLMServer, llm: Router) -> None:
    llm_server.script("openai", openai_text("hi there"))
    result = deploy(think(TEXT_O)).dry_run("hello", llm=llm)
    assert result.value == "hi there"
    (req,) = llm_server.requests
    assert req.path == "/v1/chat/completions"
    assert req.headers["authorization"] == "Bearer test-key"
    assert req.body["messages"] == [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "hello"},
    ]
    assert req.body["max_tokens"] == 1024
    assert "temperature" not in req.body and "response_format" not in req.body


def test_anthropic_structured_reply_is_one_forced_tool(llm_server: LLMServer, llm: Router) -> None:
    llm_server.script("anthropic", anthropic_tool(("reply", {"label": "billing", "urgent": True})))
    result = deploy(think(TRIAGE_A)).dry_run("charged twice", llm=llm)
    assert result.value == Triage("billing", True)
    body = llm_server.bodies("anthropic")[0]
    assert body["tool_choice"] == {"type": "tool", "name": "reply", "disable_parallel_tool_use": True}
    (tool,) = body["tools"]
    assert tool["name"] == "reply"
    assert tool["input_schema"]["properties"] == {"label": {"type": "string"}, "urgent": {"type": "boolean"}}
    assert sorted(tool["input_schema"]["required"]) == ["label", "urgent"]


def test_openai_structured_reply_uses_strict_json_schema(llm_server: LLMServer, llm: Router) -> None:
    llm_server.script("openai", openai_json({"label": "billing", "urgent": False}))
    result = deploy(think(TRIAGE_O)).dry_run("charged twice", llm=llm)
    assert result.value == Triage("billing", False)
    fmt = llm_server.bodies("openai")[0]["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "reply"
    assert fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"]["additionalProperties"] is False


def test_a_non_object_reply_schema_is_wrapped_and_unwrapped(llm_server: LLMServer, llm: Router) -> None:
    llm_server.script("openai", openai_json({"value": ["a", "b"]}))
    result = deploy(think(LABELS_O)).dry_run("x", llm=llm)
    assert result.value == ["a", "b"]
    schema = llm_server.bodies("openai")[0]["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["value"] == {"type": "array", "items": {"type": "string"}}


def test_an_invalid_reply_is_re_asked_with_the_validation_error(llm_server: LLMServer, llm: Router) -> None:
    llm_server.script(
        "anthropic",
        anthropic_tool(("reply", {"label": "billing", "urgent": "yes"})),
        anthropic_tool(("reply", {"label": "billing", "urgent": True})),
    )
    result = deploy(think(TRIAGE_A)).dry_run("charged twice", llm=llm)
    assert result.value == Triage("billing", True)
    first, second = llm_server.bodies("anthropic")
    assert len(first["messages"]) == 1
    user, assistant, follow_up = second["messages"]
    assert user == first["messages"][0]
    assert assistant["role"] == "assistant"
    assert assistant["content"][0]["type"] == "tool_use" and assistant["content"][0]["id"] == "toolu_0"
    (answer,) = follow_up["content"]
    assert answer["type"] == "tool_result" and answer["tool_use_id"] == "toolu_0" and answer["is_error"] is True
    assert "$.urgent" in answer["content"] and "boolean" in answer["content"]
    event = next(e for e in result.projection.events if e["label"] == "mr_triage_a")
    assert event["usage"]["calls"] == 2 and event["usage"]["tokens"] == 30  # both calls are charged


def test_openai_re_ask_for_unparseable_json(llm_server: LLMServer, llm: Router) -> None:
    llm_server.script("openai", openai_text("Sure! Here it is: {label"), openai_json({"label": "x", "urgent": True}))
    result = deploy(think(TRIAGE_O)).dry_run("t", llm=llm)
    assert result.value == Triage("x", True)
    follow = llm_server.bodies("openai")[1]["messages"]
    assert follow[-2] == {"role": "assistant", "content": "Sure! Here it is: {label"}
    assert follow[-1]["role"] == "user" and "not JSON" in follow[-1]["content"]


def test_still_invalid_after_the_retries_is_a_step_type_error(llm_server: LLMServer, llm: Router) -> None:
    bad = anthropic_tool(("reply", {"label": 3, "urgent": True}))
    llm_server.script("anthropic", bad, bad)
    result = deploy(think(TRIAGE_A)).dry_run("t", llm=llm)
    assert result.status == "failed"
    assert isinstance(result.error, StepTypeError)
    assert result.error.path == "$.label" and result.error.expected == "string"
    assert len(llm_server.requests) == 2  # output_retries=1: one re-ask


def test_output_retries_zero_fails_on_the_first_invalid_reply(llm_server: LLMServer, llm: Router) -> None:
    llm_server.script("anthropic", anthropic_tool(("reply", {"label": "x"})))
    result = deploy(think(TRIAGE_STRICT)).dry_run("t", llm=llm)
    assert isinstance(result.error, StepTypeError)
    assert result.error.path == "$.urgent"
    assert len(llm_server.requests) == 1


def test_a_reply_cut_by_max_tokens_names_max_tokens(llm_server: LLMServer, llm: Router) -> None:
    llm_server.script("anthropic", anthropic_tool(("reply", {"label": "bil"}), stop="max_tokens"))
    result = deploy(think(TRIAGE_A)).dry_run("t", llm=llm)
    assert isinstance(result.error, StepTypeError)
    assert "max_tokens=1024" in str(result.error)
    assert len(llm_server.requests) == 1  # a cut reply is not re-asked: the same budget would cut it again
    llm_server.script("openai", openai_text("A long ans", finish="length"))
    cut = deploy(think(TEXT_O)).dry_run("t", llm=llm)
    assert isinstance(cut.error, StepTypeError) and "max_tokens" in str(cut.error)


def test_output_retries_is_part_of_the_definition_hash() -> None:
    base = Reasoner("mr_hash", "anthropic:m", reply=Triage)
    assert base.output_retries == 1
    assert "outputRetries" not in base.definition_json()  # the default keeps existing hashes
    more = Reasoner("mr_hash", "anthropic:m", reply=Triage, output_retries=3)
    assert more.definition_json()["outputRetries"] == 3
    assert more.definition_hash() != base.definition_hash()
    with pytest.raises(CompositionError, match="output_retries"):
        Reasoner("mr_hash", "anthropic:m", output_retries=-1)


def test_fakes_in_reasoners_still_win_over_llm(llm_server: LLMServer, llm: Router) -> None:
    llm_server.script("anthropic", anthropic_tool(("reply", {"label": "real", "urgent": False})))
    flow = think(TEXT_A) >> think(TRIAGE_A)
    seen: list[Any] = []

    def fake(value: Any) -> str:
        seen.append(value)
        return "faked text"

    result = deploy(flow).dry_run("q", reasoners={"mr_text_a": fake}, llm=llm)
    assert result.value == Triage("real", False)
    assert seen == ["q"]
    assert [r.api for r in llm_server.requests] == ["anthropic"]
    assert llm_server.bodies("anthropic")[0]["messages"][0]["content"] == "faked text"


async def test_arun_takes_llm_too(llm_server: LLMServer, llm: Router) -> None:
    llm_server.script("openai", openai_text("async hi"))
    result = await deploy(think(TEXT_O)).arun("hello", llm=llm)
    assert result.value == "async hi"


def test_openai_itself_gets_max_completion_tokens() -> None:
    from composable_agents.integrations.models._wire import Request, UserText
    from composable_agents.integrations.models.openai import build_request

    request = Request("gpt-4o-mini", "", (UserText("x"),), 300)
    assert build_request(request)["max_tokens"] == 300  # what compatible servers read (the base_url case above)
    official = build_request(request, token_field="max_completion_tokens")
    assert official["max_completion_tokens"] == 300 and "max_tokens" not in official
