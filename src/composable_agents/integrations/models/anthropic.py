"""The Anthropic provider: the Messages API through the official ``anthropic`` SDK.

:func:`build_request` turns our :class:`~._wire.Request` into the keyword
arguments of ``messages.create``; :func:`map_reply` turns the SDK's
``Message`` into a :class:`~._wire.Reply`. A structured reply is one forced
tool whose input schema is the reply schema (Anthropic's native mechanism);
a controller's actions are ordinary tools with ``tool_choice: any`` and
parallel tool use disabled. The SDK's own retries are off
(``max_retries=0``): retries belong to the activity retry policy, which sees
``Retry-After`` through our transient error. Rejected alternative: raw httpx
calls — the SDK owns authentication headers, versioning and response
parsing, and users expect the official client.
"""

from __future__ import annotations

from typing import Any

from composable_agents.core.canonical import Json, JsonObject
from composable_agents.errors import ComposableAgentsError
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

__all__ = ["AnthropicProvider", "build_request", "map_reply"]

_STOPS: dict[str, Stop] = {
    "end_turn": "end",
    "stop_sequence": "end",
    "pause_turn": "end",
    "tool_use": "tool_use",
    "max_tokens": "max_tokens",
    "model_context_window_exceeded": "max_tokens",
    "refusal": "refusal",
}


def _assistant_blocks(reply: Reply) -> list[JsonObject]:
    blocks: list[JsonObject] = []
    if reply.text:
        blocks.append({"type": "text", "text": reply.text})
    for use in reply.tool_uses:
        blocks.append({"type": "tool_use", "id": use.id, "name": use.name, "input": use.input})
    return blocks or [{"type": "text", "text": ""}]


def build_request(request: Request) -> dict[str, Any]:
    """The ``messages.create`` keyword arguments for ``request``."""
    messages: list[JsonObject] = []
    for turn in request.turns:
        if isinstance(turn, UserText):
            messages.append({"role": "user", "content": turn.text})
        elif isinstance(turn, AssistantTurn):
            messages.append({"role": "assistant", "content": _assistant_blocks(turn.reply)})
        else:
            results: list[Json] = [
                {"type": "tool_result", "tool_use_id": cid, "content": text, "is_error": is_error}
                for cid, text, is_error in turn.results
            ]
            messages.append({"role": "user", "content": results})
    kwargs: dict[str, Any] = {"model": request.model, "max_tokens": request.max_tokens, "messages": messages}
    if request.system:
        kwargs["system"] = request.system
    if request.temperature is not None:
        # Passed as body JSON: the SDK's typed parameter list varies across releases, the API field does not.
        kwargs["extra_body"] = {"temperature": request.temperature}
    tools: list[JsonObject] = [
        {"name": t.name, "description": t.description, "input_schema": t.input_schema} for t in request.tools
    ]
    if request.reply_schema is not None:
        tools.append(
            {
                "name": request.reply_name,
                "description": "Give your final answer by calling this tool with it.",
                "input_schema": request.reply_schema,
            }
        )
        kwargs["tool_choice"] = {"type": "tool", "name": request.reply_name, "disable_parallel_tool_use": True}
    elif request.tool_choice == "any":
        kwargs["tool_choice"] = {"type": "any", "disable_parallel_tool_use": True}
    if tools:
        kwargs["tools"] = tools
    return kwargs


def map_reply(message: Any, request: Request) -> Reply:
    """Our :class:`Reply` for an SDK ``Message`` answering ``request``."""
    texts: list[str] = []
    uses: list[ToolUse] = []
    output: Json = None
    has_output = False
    for block in message.content or ():
        kind = getattr(block, "type", None)
        if kind == "text":
            texts.append(block.text)
        elif kind == "tool_use":
            use = ToolUse(str(block.id), str(block.name), _plain(block.input))
            if request.reply_schema is not None and use.name == request.reply_name and not has_output:
                output, has_output = use.input, True
            uses.append(use)
    raw = message.usage
    cache_read = int(getattr(raw, "cache_read_input_tokens", 0) or 0)
    cache_write = int(getattr(raw, "cache_creation_input_tokens", 0) or 0)
    usage = Usage(
        input_tokens=int(raw.input_tokens or 0) + cache_read + cache_write,
        output_tokens=int(raw.output_tokens or 0),
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
    )
    stop = _STOPS.get(str(message.stop_reason), "end")
    error = None if has_output or request.reply_schema is None else "the reply did not call the reply tool"
    return Reply(
        text="".join(texts),
        tool_uses=tuple(uses),
        stop=stop,
        usage=usage,
        model=str(getattr(message, "model", "") or request.model),
        output=output,
        has_output=has_output,
        output_error=error,
    )


def _plain(value: Any) -> Json:
    """SDK values are plain JSON already; copy containers so a reply never aliases SDK state."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    out: Json = value
    return out


class AnthropicProvider(SdkProvider):
    """Calls Claude models (``anthropic:<model-id>``) through ``anthropic.AsyncAnthropic``.

    ``api_key``/``base_url`` default to ``ANTHROPIC_API_KEY``/``ANTHROPIC_BASE_URL``
    (read when the provider is made); ``timeout_s`` bounds each HTTP request.
    Providers with the same settings share one SDK client per event loop, so
    connections are reused across calls and router instances.
    """

    name = "anthropic"
    _env = "ANTHROPIC"
    _sdk_module = "anthropic"

    def client(self) -> Any:
        """The shared ``AsyncAnthropic`` client for these settings on the running loop."""
        sdk = self.sdk()
        return shared_client(
            ("anthropic", self.api_key, self.base_url, self.timeout_s),
            lambda: sdk.AsyncAnthropic(
                api_key=self.api_key, base_url=self.base_url, timeout=self.timeout_s, max_retries=0
            ),
        )

    async def complete(self, request: Request) -> Reply:
        """One Messages API call; SDK failures become our errors here and nowhere else."""
        sdk = self.sdk()
        client = self.client()
        kwargs = build_request(request)
        try:
            message = await client.messages.create(**kwargs)
        except ComposableAgentsError:
            raise
        except sdk.AnthropicError as exc:
            raise translate_error(exc, sdk, provider=self.name, model=request.model) from exc
        return map_reply(message, request)
