"""HTTP endpoints as typed tools: ``http_tool(name, url, input=T, output=U)`` (extra ``http``).

    weather = http_tool("weather", "https://api.example.com/weather",
                        effect="read", input=City, output=Forecast,
                        headers_env={"Authorization": "WEATHER_TOKEN"})
    flow = weather >> summarize

The leaf is a ``Tool[I, O]`` whose frozen definition holds the URL, method,
timeout and the *names* of the environment variables that fill headers — never
their values, which are read when a call is made, so no secret reaches the
artifact or a workflow history. Deploy blocks an endpoint whose host the
manifest's ``network:`` section does not grant (``NETWORK_DENIED``).

The leaf carries its own caller (its ``ToolDef.fn``), so ``dry_run``/``arun``
and workers run it like any in-process async tool and the runtime never
imports this module; the alternative — a runtime switch on the tool kind —
would make the pure runtime depend on httpx. A worker runs it when it imports
the module declaring it (``modules=``) or hosts the deployment.

Every attempt sends the same ``Idempotency-Key`` (the run's key for the call);
429 and 5xx answers are :class:`ToolUnavailable` carrying ``Retry-After`` as the
next retry delay; other 4xx are :class:`ToolRejected`; a body that does not
match the output type is a :class:`StepTypeError`.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import uuid
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeVar, cast, overload
from urllib.parse import urlparse

try:
    import httpx
except ImportError as exc:  # pragma: no cover - depends on the environment
    msg = "HTTP tools need httpx: pip install 'composable-agents[http]'"
    raise ImportError(msg) from exc

from composable_agents.authoring.leaves import KeyedTool, ToolContract, ToolDef
from composable_agents.core.canonical import Json, JsonObject
from composable_agents.core.ir import CallStep, Prim
from composable_agents.core.kinds import Effect, Idempotency
from composable_agents.core.pures import DEFAULT_REGISTRY, Registry
from composable_agents.core.schema import compile_schema, schema_of
from composable_agents.errors import (
    CapabilityDenied,
    CompositionError,
    StepTypeError,
    ToolRejected,
    ToolUnavailable,
)
from composable_agents.execution.local import run_coroutine
from composable_agents.execution.resilience import retry_after

__all__ = ["METHODS", "HttpToolDef", "http_tool", "retry_after_seconds"]

_X = TypeVar("_X")
_Y = TypeVar("_Y")

METHODS: Final = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
"""The HTTP methods an ``http_tool`` may use (GET and DELETE send the input as query parameters)."""

_MAX_RETRY_AFTER_S: Final = 3600.0
_ENV_REF: Final = "env://"


@dataclass(frozen=True, slots=True, eq=False)
class HttpToolDef(ToolDef):
    """A tool definition for an HTTP endpoint: a :class:`ToolDef` that also records where and how to call."""

    url: str = ""
    method: str = "POST"
    headers_env: tuple[tuple[str, str], ...] = ()
    timeout_s: float = 30.0

    def definition_json(self) -> JsonObject:
        """The native definition plus ``http``: url, method, timeout and ``env://`` header references."""
        out = ToolDef.definition_json(self)
        http: JsonObject = {"url": self.url, "method": self.method, "timeoutS": self.timeout_s}
        if self.headers_env:
            http["headersEnv"] = {h: _ENV_REF + var for h, var in self.headers_env}
        out["http"] = http
        return out

    @property
    def host(self) -> str:
        """The endpoint's host (what a ``network:`` grant must list)."""
        return urlparse(self.url).hostname or ""


# -- the shared client ------------------------------------------------------------------

_CLIENTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = weakref.WeakKeyDictionary()
_CLIENTS_LOCK = threading.Lock()


def _client() -> httpx.AsyncClient:
    """One pooled client per event loop (connections are reused across calls and tools)."""
    loop = asyncio.get_running_loop()
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(loop)
        if client is None or client.is_closed:
            client = _CLIENTS[loop] = httpx.AsyncClient(follow_redirects=False)
        return client


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """A ``Retry-After`` header (delta seconds or an HTTP date) as seconds from now, capped at an hour."""
    return retry_after(value, cap=_MAX_RETRY_AFTER_S, now=now)


def _query(key: str, value: Json) -> dict[str, Any] | None:
    if value is None:
        return None
    if type(value) is not dict:
        raise StepTypeError(key, "$", "an object of query parameters (GET/DELETE)", type(value).__name__)
    out: dict[str, Any] = {}
    for k, v in value.items():
        if isinstance(v, dict | list):
            out[k] = json.dumps(v, separators=(",", ":"))
        else:
            out[k] = v
    return out


def _env_names(name: str, headers_env: Mapping[str, str] | None) -> tuple[tuple[str, str], ...]:
    if headers_env is None:
        return ()
    if not isinstance(cast(object, headers_env), Mapping):
        msg = f"http_tool {name!r}: headers_env must map header names to environment variable names"
        raise CompositionError(msg)
    out: list[tuple[str, str]] = []
    for header, var in headers_env.items():
        if not isinstance(cast(object, header), str) or not header or not isinstance(cast(object, var), str) or not var:
            msg = f"http_tool {name!r}: headers_env entries must be non-empty strings, got {header!r}: {var!r}"
            raise CompositionError(msg)
        var = var.removeprefix(_ENV_REF)
        if not var.replace("_", "").isalnum():
            msg = (
                f"http_tool {name!r}: headers_env[{header!r}] must name an environment variable "
                f"(like WEATHER_TOKEN), got {var!r} — never the secret itself"
            )
            raise CompositionError(msg)
        out.append((header, var))
    return tuple(sorted(out))


def _make_caller(
    key: str, url: str, method: str, env_headers: tuple[tuple[str, str], ...], timeout_s: float, out_schema: JsonObject
) -> Any:
    validator = compile_schema(out_schema) if out_schema else None
    accepts_text = validator is not None and validator.is_valid("")
    timeout = httpx.Timeout(timeout_s)  # built once: a per-request float makes httpx build one per call

    async def call(value: Json, *, idempotency_key: str, principal: Json = None) -> Json:
        headers = {"Idempotency-Key": idempotency_key}
        for header, var in env_headers:
            secret = os.environ.get(var)
            if not secret:
                msg = f"http tool {key!r}: environment variable {var!r} (for header {header!r}) is not set"
                raise CapabilityDenied(msg)
            headers[header] = secret
        if principal is not None:
            headers["X-Principal"] = json.dumps(principal, separators=(",", ":"), sort_keys=True)
        client = _client()
        try:
            if method in ("GET", "DELETE"):
                response = await client.request(
                    method, url, params=_query(key, value), headers=headers, timeout=timeout
                )
            else:
                response = await client.request(method, url, json=value, headers=headers, timeout=timeout)
        except httpx.HTTPError as exc:
            msg = f"http tool {key!r}: {method} {url} failed: {type(exc).__name__}: {exc}"
            raise ToolUnavailable(msg) from exc
        status = response.status_code
        if status == 429 or status >= 500:
            delay = retry_after_seconds(response.headers.get("Retry-After"))
            msg = f"http tool {key!r}: {method} {url} answered {status} (transient)"
            raise ToolUnavailable(msg, retry_after_s=delay)
        if not 200 <= status < 300:
            msg = f"http tool {key!r}: {method} {url} answered {status}: {response.text[:200]}"
            raise ToolRejected(msg, status=status)
        out: Json
        if not response.content:
            out = None
        else:
            try:
                out = json.loads(response.content)
            except ValueError:
                if not accepts_text:
                    msg = f"http tool {key!r}: {method} {url} answered {status} with a body that is not JSON"
                    raise ToolRejected(msg, status=status) from None
                out = response.text
        if validator is not None and not validator.is_valid(out):
            err = validator.first_error(out)
            if err is None:  # pragma: no cover - is_valid and first_error agree
                raise StepTypeError(key, "$", "the output type", repr(out)[:80])
            raise StepTypeError(key, err.path, err.expected, err.value_repr)
        return out

    return call


def _direct(caller: Any) -> Any:
    """A direct (unit-test) call outside any run: blocking, with a fresh key unless one is given."""

    def run(value: Json = None, /, *, idempotency_key: str | None = None, principal: Json = None) -> Json:
        key = idempotency_key or f"direct:{uuid.uuid4()}"
        result: Json = run_coroutine(caller(value, idempotency_key=key, principal=principal))
        return result

    return run


@overload
def http_tool(
    name: str,
    url: str,
    *,
    method: str = ...,
    effect: Effect | str = ...,
    idempotent: bool = ...,
    input: type[_X],
    output: type[_Y],
    headers_env: Mapping[str, str] | None = ...,
    timeout_s: float = ...,
    registry: Registry | None = ...,
) -> KeyedTool[_X, _Y]: ...
@overload
def http_tool(
    name: str,
    url: str,
    *,
    method: str = ...,
    effect: Effect | str = ...,
    idempotent: bool = ...,
    input: Any = ...,
    output: Any = ...,
    headers_env: Mapping[str, str] | None = ...,
    timeout_s: float = ...,
    registry: Registry | None = ...,
) -> KeyedTool[Any, Any]: ...
def http_tool(
    name: str,
    url: str,
    *,
    method: str = "POST",
    effect: Effect | str = Effect.READ,
    idempotent: bool = False,
    input: Any = Any,
    output: Any = Any,
    headers_env: Mapping[str, str] | None = None,
    timeout_s: float = 30,
    registry: Registry | None = None,
) -> KeyedTool[Any, Any]:
    """Declare an HTTP endpoint as a typed tool ``Tool[input, output]`` and register it.

    ``method`` POST/PUT/PATCH send the input as a JSON body, GET/DELETE as
    query parameters; ``effect`` defaults to ``read`` (say ``write`` or more
    for an endpoint that changes the world); ``idempotent=True`` asserts the
    endpoint honours ``Idempotency-Key`` (``native`` idempotency, so a write
    may retry); ``headers_env={"Authorization": "TOKEN_VAR"}`` fills headers
    from environment variables at call time; ``timeout_s`` bounds one request.
    """
    if not isinstance(cast(object, name), str) or not name or "/" in name or name.startswith("__"):
        msg = f"http_tool name {name!r} must be non-empty, without '/', and not start with '__' (reserved)"
        raise CompositionError(msg)
    parsed = urlparse(url) if isinstance(cast(object, url), str) else None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.hostname:
        msg = f"http_tool {name!r}: url must be an absolute http(s) URL with a host, got {url!r}"
        raise CompositionError(msg)
    if parsed.username or parsed.password:
        msg = f"http_tool {name!r}: credentials in the URL would be frozen into the artifact; use headers_env="
        raise CompositionError(msg)
    verb = str(method).upper()
    if verb not in METHODS:
        msg = f"http_tool {name!r}: method must be one of {sorted(METHODS)}, got {method!r}"
        raise CompositionError(msg)
    if not (isinstance(cast(object, timeout_s), int | float) and timeout_s > 0):
        msg = f"http_tool {name!r}: timeout_s must be a positive number, got {timeout_s!r}"
        raise CompositionError(msg)
    env_headers = _env_names(name, headers_env)
    eff = Effect(effect)
    in_schema = dict(schema_of(input) or {})
    out_schema = dict(schema_of(output) or {})
    contract = ToolContract(
        effect=eff,
        idempotency=Idempotency.NATIVE if idempotent else Idempotency.NONE,
        input_schema=in_schema,
        output_schema=out_schema,
        approval=eff is Effect.DANGEROUS,
    )
    caller = _make_caller(name, url, verb, env_headers, float(timeout_s), out_schema)
    definition = HttpToolDef(
        key=name,
        contract=contract,
        fn=caller,
        kind="http",
        params=("input",),
        single=True,
        wants_key=True,
        wants_principal=True,
        is_async=True,
        in_type=input,
        out_type=output,
        url=url,
        method=verb,
        headers_env=env_headers,
        timeout_s=float(timeout_s),
    )
    (registry or DEFAULT_REGISTRY).register_tool(definition)
    arrow: KeyedTool[Any, Any] = KeyedTool(Prim(step=CallStep(name)), in_type=input, out_type=output, label=name)
    object.__setattr__(arrow, "_def", definition)
    object.__setattr__(arrow, "_guarded", _direct(caller))
    return arrow

