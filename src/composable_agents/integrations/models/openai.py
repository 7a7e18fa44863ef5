"""The OpenAI provider: Chat Completions through the official ``openai`` SDK.

Works with OpenAI and any server speaking the Chat Completions API (set
``base_url``). :func:`build_request` builds the ``chat.completions.create``
arguments; :func:`map_reply` reads the ``ChatCompletion``. A structured
reply uses ``response_format`` ``json_schema`` (``strict`` when the schema
qualifies: every object closed and every property required); a controller's
actions are function tools with ``tool_choice: required`` and parallel
tool calls off. SDK retries are off (``max_retries=0``) because the
activity retry policy owns them. Rejected alternative: the Responses API —
OpenAI-compatible servers (vLLM, Ollama, gateways) speak Chat Completions.
"""

from __future__ import annotations

import json
from typing import Any

from composable_agents.core.canonical import Json, JsonObject
from composable_agents.core.jsontext import loads_strict
from composable_agents.errors import CanonicalJSONError, ComposableAgentsError
from composable_agents.integrations.models._wire import (
    AssistantTurn,
    Reply,
    Request,
    SdkProvider,
    Stop,
    ToolUse,
    Usage,
    UserText,
    shared_client,
    translate_error,
)

__all__ = ["OpenAIProvider", "build_request", "map_reply"]

_STOPS: dict[str, Stop] = {
    "stop": "end",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "length": "max_tokens",
    "content_filter": "refusal",
}


def _dumps(value: Json) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def build_request(request: Request, *, token_field: str = "max_tokens") -> dict[str, Any]:
    """The ``chat.completions.create`` keyword arguments for ``request``.

    ``token_field`` names the output cap: ``max_tokens`` (what every
    compatible server reads) or ``max_completion_tokens`` (OpenAI's own API,
    whose reasoning models refuse ``max_tokens``).
    """
    messages: list[JsonObject] = []
    if request.system:
        messages.append({"role": "system", "content": request.system})
    for turn in request.turns:
        if isinstance(turn, UserText):
            messages.append({"role": "user", "content": turn.text})
        elif isinstance(turn, AssistantTurn):
            reply = turn.reply
            msg: JsonObject = {"role": "assistant", "content": reply.text or None}
            if reply.tool_uses:
                msg["tool_calls"] = [
                    {"id": u.id, "type": "function", "function": {"name": u.name, "arguments": _dumps(u.input)}}
                    for u in reply.tool_uses
                ]
            messages.append(msg)
        else:
            for cid, text, _is_error in turn.results:
                messages.append({"role": "tool", "tool_call_id": cid, "content": text})
    kwargs: dict[str, Any] = {"model": request.model, "messages": messages, token_field: request.max_tokens}
    if request.temperature is not None:
        kwargs["temperature"] = request.temperature
    if request.tools:
        kwargs["tools"] = [
            {
                "type": "function",
                "function": {"name": t.name, "description": t.description, "parameters": t.input_schema},
            }
            for t in request.tools
        ]
        kwargs["parallel_tool_calls"] = False
        if request.tool_choice == "any":
            kwargs["tool_choice"] = "required"
    if request.reply_schema is not None:
        kwargs["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": request.reply_name, "schema": request.reply_schema, "strict": request.reply_strict},
        }
    return kwargs


def map_reply(completion: Any, request: Request) -> Reply:
    """Our :class:`Reply` for an SDK ``ChatCompletion`` answering ``request``."""
    choice = completion.choices[0] if completion.choices else None
    message = choice.message if choice is not None else None
    text = (message.content or "") if message is not None else ""
    refused = bool(getattr(message, "refusal", None)) if message is not None else False
    uses: list[ToolUse] = []
    for call in (getattr(message, "tool_calls", None) or ()) if message is not None else ():
        fn = getattr(call, "function", None)
        if fn is None:
            continue
        try:  # strict (SPEC §22.8): a repeated key or a lone surrogate is unparsed, never "last wins"
            args: Json = loads_strict(fn.arguments) if fn.arguments else {}
        except CanonicalJSONError:
            args = {"__unparsed__": fn.arguments}
        uses.append(ToolUse(str(call.id), str(fn.name), args))
    raw = completion.usage
    details = getattr(raw, "prompt_tokens_details", None) if raw is not None else None
    usage = Usage(
        input_tokens=int(getattr(raw, "prompt_tokens", 0) or 0),
        output_tokens=int(getattr(raw, "completion_tokens", 0) or 0),
        cache_read_tokens=int(getattr(details, "cached_tokens", 0) or 0),
        cache_write_tokens=int(getattr(details, "cache_write_tokens", 0) or 0),
    )
    stop: Stop = "refusal" if refused else _STOPS.get(str(getattr(choice, "finish_reason", "stop")), "end")
    output: Json = None
    has_output = False
    error = None
    if request.reply_schema is not None and not refused:
        try:
            output, has_output = loads_strict(text), True
        except CanonicalJSONError as exc:
            error = f"the reply is not JSON ({exc})"
    return Reply(
        text=text if not refused else str(getattr(message, "refusal", "")),
        tool_uses=tuple(uses),
        stop=stop,
        usage=usage,
        model=str(getattr(completion, "model", "") or request.model),
        output=output,
        has_output=has_output,
        output_error=error,
    )


class OpenAIProvider(SdkProvider):
    """Calls OpenAI (or OpenAI-compatible) models (``openai:<model-id>``) through ``openai.AsyncOpenAI``.

    ``api_key``/``base_url`` default to ``OPENAI_API_KEY``/``OPENAI_BASE_URL``
    (read when the provider is made); ``timeout_s`` bounds each HTTP request.
    Providers with the same settings share one SDK client per event loop.
    """

    name = "openai"
    _env = "OPENAI"
    _sdk_module = "openai"

    def client(self) -> Any:
        """The shared ``AsyncOpenAI`` client for these settings on the running loop."""
        sdk = self.sdk()
        return shared_client(
            ("openai", self.api_key, self.base_url, self.timeout_s),
            lambda: sdk.AsyncOpenAI(api_key=self.api_key, base_url=self.base_url, timeout=self.timeout_s, max_retries=0),
        )

    async def complete(self, request: Request) -> Reply:
        """One Chat Completions call; SDK failures become our errors here and nowhere else."""
        sdk = self.sdk()
        client = self.client()
        # OpenAI itself (no base_url) takes max_completion_tokens; compatible servers read max_tokens.
        kwargs = build_request(request, token_field="max_completion_tokens" if self.base_url is None else "max_tokens")
        try:
            completion = await client.chat.completions.create(**kwargs)
        except ComposableAgentsError:
            raise
        except sdk.OpenAIError as exc:
            raise translate_error(exc, sdk, provider=self.name, model=request.model) from exc
        return map_reply(completion, request)
