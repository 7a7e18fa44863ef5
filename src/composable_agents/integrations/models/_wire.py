"""The provider-neutral request and reply that every provider module translates.

The router speaks only these types; each provider module turns a
:class:`Request` into its SDK's call (one function) and the SDK's answer into
a :class:`Reply` (another function), and maps SDK errors to our taxonomy in
:func:`translate_error`. Rejected alternative: passing SDK-shaped dicts
through the router — every provider quirk (content blocks, ``tool_calls``,
``response_format``) would then leak into the structured-reply and controller
logic, and a fallback from one provider to another could not replay the
conversation.

SDK clients are shared: :func:`shared_client` keeps one client per provider
configuration per event loop (an SDK async client's connection pool belongs
to the loop that opened it; a worker has one loop, so one client per process).
"""

from __future__ import annotations

import asyncio
import importlib
import os
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, Protocol

from composable_agents.core.canonical import Json, JsonObject
from composable_agents.errors import (
    ComposableAgentsError,
    ProviderError,
    ProviderUnavailable,
)
from composable_agents.execution.resilience import retry_after

__all__ = [
    "FATAL_STATUSES",
    "AssistantTurn",
    "Provider",
    "Reply",
    "Request",
    "SdkProvider",
    "Stop",
    "ToolResults",
    "ToolSpec",
    "ToolUse",
    "Turn",
    "Usage",
    "UserText",
    "is_transient_status",
    "retry_after_s",
    "shared_client",
    "translate_error",
]

Stop = Literal["end", "tool_use", "max_tokens", "refusal"]
"""Why a reply ended, in our words (each provider maps its own reasons)."""

FATAL_STATUSES: Final = frozenset({400, 401, 403, 404, 413, 422})
"""HTTP statuses that are verdicts on the request: retrying cannot help."""

MAX_RETRY_AFTER_S: Final = 300.0
"""A server's ``Retry-After`` is honoured up to this many seconds (a bad header must not park a run for days)."""


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool offered to the model: its provider-safe name, a description and an object input schema."""

    name: str
    description: str
    input_schema: JsonObject


@dataclass(frozen=True, slots=True)
class ToolUse:
    """One tool call in a reply: the provider's call id, the tool name and its input."""

    id: str
    name: str
    input: Json


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of one or more calls (``input_tokens`` includes the cache reads and writes)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_read_tokens + other.cache_read_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
        )

    @property
    def tokens(self) -> int:
        """Input plus output tokens (what a token budget counts)."""
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True, slots=True)
class Reply:
    """A provider's answer, normalized.

    ``output`` is the structured reply when the request asked for one
    (``has_output``), or ``output_error`` says why it could not be read
    (e.g. the text was not JSON).
    """

    text: str
    tool_uses: tuple[ToolUse, ...]
    stop: Stop
    usage: Usage
    model: str
    output: Json = None
    has_output: bool = False
    output_error: str | None = None


@dataclass(frozen=True, slots=True)
class UserText:
    """A user turn holding text (the prompt value, or a follow-up after an invalid reply)."""

    text: str


@dataclass(frozen=True, slots=True)
class AssistantTurn:
    """An earlier reply replayed in a follow-up request."""

    reply: Reply


@dataclass(frozen=True, slots=True)
class ToolResults:
    """Answers to an earlier reply's tool calls: ``(call id, text, is_error)`` each."""

    results: tuple[tuple[str, str, bool], ...]


Turn = UserText | AssistantTurn | ToolResults


@dataclass(frozen=True, slots=True)
class Request:
    """One provider call.

    ``reply_schema`` (an object schema) asks for a structured reply under
    ``reply_name`` through the provider's native mechanism, ``reply_strict``
    saying whether the schema qualifies for strict decoding. ``tools`` with
    ``tool_choice="any"`` forces exactly one call of one of them.
    """

    model: str
    system: str
    turns: tuple[Turn, ...]
    max_tokens: int
    temperature: float | None = None
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: Literal["auto", "any"] | None = None
    reply_schema: JsonObject | None = None
    reply_name: str = "reply"
    reply_strict: bool = False


class Provider(Protocol):
    """What the router needs of a provider module."""

    name: str

    @property
    def configured(self) -> bool:
        """Whether calls can be made (an API key is known)."""
        ...

    async def complete(self, request: Request) -> Reply:
        """One call: our errors on failure (:func:`translate_error`), never SDK exceptions."""
        ...


class SdkProvider:
    """What the SDK providers share: settings from arguments or ``<ENV>_API_KEY``/``<ENV>_BASE_URL``, and the lazy SDK import.

    A subclass sets ``name`` (the model prefix), ``_env`` (the variables'
    prefix) and ``_sdk_module``; it builds its request, reads its reply and
    makes its client itself.
    """

    name: str
    _env: str
    _sdk_module: str

    def __init__(self, api_key: str | None = None, base_url: str | None = None, timeout_s: float = 60) -> None:
        self.api_key = api_key if api_key is not None else os.environ.get(f"{self._env}_API_KEY") or None
        self.base_url = base_url if base_url is not None else os.environ.get(f"{self._env}_BASE_URL") or None
        given: object = timeout_s
        if isinstance(given, bool) or not isinstance(given, int | float) or given <= 0:
            msg = f"`timeout_s` must be a positive number of seconds, got {timeout_s!r}"
            raise ValueError(msg)
        self.timeout_s = float(timeout_s)

    @property
    def configured(self) -> bool:
        """Whether an API key is known (argument or ``<ENV>_API_KEY``)."""
        return bool(self.api_key)

    def __repr__(self) -> str:
        key = "set" if self.api_key else "unset"
        return f"{type(self).__name__}(base_url={self.base_url!r}, timeout_s={self.timeout_s}, key={key})"

    def sdk(self) -> Any:
        """The provider's SDK module, imported on first use (the package imports no SDK)."""
        try:
            return importlib.import_module(self._sdk_module)
        except ImportError as exc:  # pragma: no cover - depends on the environment
            msg = (
                f"the {type(self).__name__.removesuffix('Provider')} provider needs the {self._sdk_module} SDK: "
                f"pip install 'composable-agents[{self._sdk_module}]'"
            )
            raise ImportError(msg) from exc


# -- shared clients ---------------------------------------------------------------------

_CLIENTS: dict[tuple[Any, ...], weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any]] = {}


def shared_client(key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
    """The client for ``key`` on the running loop, made once by ``make()`` and reused."""
    loop = asyncio.get_running_loop()
    per_loop = _CLIENTS.get(key)
    if per_loop is None:
        per_loop = _CLIENTS[key] = weakref.WeakKeyDictionary()
    client = per_loop.get(loop)
    if client is None:
        client = per_loop[loop] = make()
    return client


# -- errors: the one place SDK failures become ours ----------------------------------------


def is_transient_status(status: int) -> bool:
    """408, 409, 429, 529 and every 5xx: the same request may succeed later."""
    return status in (408, 409, 429, 529) or 500 <= status < 600


def retry_after_s(headers: Mapping[str, str] | None, *, now: float | None = None) -> float | None:
    """Seconds a server asked us to wait (``retry-after-ms``, ``retry-after`` seconds or HTTP date)."""
    if not headers:
        return None
    ms = headers.get("retry-after-ms")
    if ms is not None:
        try:
            return min(max(float(ms) / 1000.0, 0.0), MAX_RETRY_AFTER_S)
        except ValueError:
            pass
    return retry_after(headers.get("retry-after"), cap=MAX_RETRY_AFTER_S, now=now)


def _error_fields(body: object, fallback: str) -> tuple[str, str]:
    """``(type, message)`` from an error body of either API (``{"error": {"type", "message"}}``)."""
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        etype = err.get("type") or err.get("code") or "error"
        message = err.get("message") or fallback
        return str(etype), str(message)
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body.get("type") or "error"), body["message"]
    return "error", fallback


def translate_error(exc: BaseException, sdk: Any, *, provider: str, model: str) -> ComposableAgentsError:
    """Our error for an SDK failure: transient :class:`ProviderUnavailable` or a :class:`ProviderError`."""
    where = f"{provider}:{model}"
    if isinstance(exc, sdk.APITimeoutError):
        return ProviderUnavailable(f"{where}: the request timed out", provider=provider, model=model)
    if isinstance(exc, sdk.APIConnectionError):
        return ProviderUnavailable(f"{where}: connection failed: {exc}", provider=provider, model=model)
    if isinstance(exc, sdk.APIStatusError):
        status = int(getattr(exc, "status_code", 0) or 0)
        response = getattr(exc, "response", None)
        headers = getattr(response, "headers", None)
        etype, message = _error_fields(getattr(exc, "body", None), str(exc))
        if is_transient_status(status):
            return ProviderUnavailable(
                f"{where}: HTTP {status} {etype}: {message}",
                provider=provider,
                model=model,
                status=status,
                retry_after_s=retry_after_s(headers),
            )
        return ProviderError(status, etype, message, provider=provider, model=model)
    # A reply the SDK could not read (a validation error): a broken server, not a verdict on us.
    return ProviderError(0, "invalid_response", f"{where}: {type(exc).__name__}: {exc}", provider=provider, model=model)
