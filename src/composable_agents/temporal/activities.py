"""The only two activities: ``callTool`` and ``invokeReasoner``.

Inputs carry refs, not contracts: ``callTool`` gets ``{"k": tool key, "d":
definition hash, "i": idempotency key, "v": value, "p"?: principal}`` and
``invokeReasoner`` gets ``{"r": name, "d": definition hash, "a": artifact
hash, "v": value, "p"?: principal}``. The idempotency key is deterministic
(run id + activation), identical on every attempt.

``callTool`` resolves, in order: an in-process ``@tool`` registered on the
worker (its definition hash must equal the artifact's, else a non-retryable
``ToolDefinitionMismatch``), a ``tool_urls`` endpoint (httpx POST with an
``Idempotency-Key`` header, ``network`` grants enforced), an MCP tool
(``server/tool`` keys) through ``mcp_call(server, tool, value,
idempotency_key)`` (plus ``principal=`` and the frozen ``definition=`` when it
takes them, so ``mcp_caller`` checks the live listing); otherwise a
non-retryable ``ToolNotFound``. Sync tool bodies run in a thread pool. Every
policy error is non-retryable; a transient tool failure (``ToolUnavailable``:
a broken MCP transport, an HTTP 429/5xx) is retryable with its ``Retry-After``
as the next retry delay.
``invokeReasoner`` also carries ``"o"`` (the controller's offer) for an agent
controller; a transient provider failure (``ProviderUnavailable``) is a
retryable application error whose ``next_retry_delay`` is the provider's
``Retry-After``.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from composable_agents.core.canonical import Json
from composable_agents.core.jsontext import not_json
from composable_agents.core.pures import Registry
from composable_agents.errors import ComposableAgentsError, ProviderUnavailable, ToolUnavailable
from composable_agents.execution.env import call_with_runtime_params
from composable_agents.execution.tool_callers import accepted_keywords
from composable_agents.temporal.artifact import find_loaded, find_reasoner, find_tool_definition
from composable_agents.temporal.env import CALL_TOOL, INVOKE_REASONER

if TYPE_CHECKING:
    from composable_agents.authoring.leaves import Reasoner, ToolDef
    from composable_agents.compiler.deploy import Deployment

__all__ = ["FlowActivities"]


def _non_retryable(message: str, etype: str) -> ApplicationError:
    return ApplicationError(message, type=etype, non_retryable=True)


class FlowActivities:
    """The activity implementations of one worker, bound to its tools and effect handlers."""

    def __init__(
        self,
        *,
        tools: Mapping[str, ToolDef],
        registry: Registry,
        deployments: Iterable[Deployment[Any, Any]] = (),
        tool_urls: Mapping[str, str] | None = None,
        mcp_call: Callable[..., Any] | None = None,
        llm: Callable[..., Any] | None = None,
        capabilities: Mapping[str, Any] | None = None,
        executor: Executor | None = None,
        http_timeout_s: float = 60.0,
    ) -> None:
        self.tools = dict(tools)
        self._hashes = {key: t.definition_hash() for key, t in self.tools.items()}
        self.registry = registry
        self.deployments = list(deployments)
        self._hosted_defs: dict[str, Any] = {}
        """Frozen tool definitions of the hosted deployments by definition hash (the first one listed wins)."""
        for dep in self.deployments:
            for entry in dep.manifest_json.get("tools", {}).values():
                self._hosted_defs.setdefault(entry.get("definitionHash"), entry.get("definition"))
        self.tool_urls = dict(tool_urls or {})
        self.mcp_call = mcp_call
        # a hand-written mcp_call(server, tool, value, idempotency_key) need not take the extras
        self._mcp_takes = accepted_keywords(mcp_call, ("principal", "definition")) if mcp_call is not None else frozenset()
        self.llm = llm
        self.capabilities = dict(capabilities) if capabilities else None
        self.executor = executor or ThreadPoolExecutor(max_workers=32, thread_name_prefix="ca-tool")
        self.http_timeout_s = http_timeout_s
        self._http: Any = None
        allowed: set[str] | None = None
        network: set[str] | None = None
        if self.capabilities is not None:
            listed = self.capabilities.get("tools")
            if listed is not None:
                allowed = {t if isinstance(t, str) else str(t.get("name")) for t in listed}
            net = self.capabilities.get("network")
            if net is not None:
                network = {str(h) for h in net}
        self._allowed = allowed
        self._network = network

    # -- callTool --------------------------------------------------------------

    @activity.defn(name=CALL_TOOL)
    async def call_tool(self, req: dict[str, Any]) -> Any:
        """Run one tool call (one attempt; the workflow's RetryPolicy owns retries)."""
        key = str(req["k"])
        value = req.get("v")
        key_id = req.get("i")
        if key_id is None:
            key_id = f"{activity.info().workflow_id}:{req.get('ia', '')}"
        principal = req.get("p")
        want = req.get("d")
        if self._allowed is not None and not _granted(key, self._allowed):
            msg = f"tool {key!r} is not granted by this worker's capabilities"
            raise _non_retryable(msg, "CapabilityDenied")
        local = self.tools.get(key)
        try:
            if local is not None and local.fn is not None:
                have = self._hashes[key]
                if want is not None and have != want:
                    msg = (
                        f"tool {key!r} on this worker has definition {have[:23]}... but the artifact was "
                        f"frozen against {str(want)[:23]}...: deploy the same tool code to the worker "
                        "or redeploy the flow"
                    )
                    raise _non_retryable(msg, "ToolDefinitionMismatch")
                out = await self._run_local(local, value, key_id, principal)
                # SPEC §22.10: only JSON crosses a step; a datetime or a set fails here, as in dry_run.
                bad = not_json(key, out)
                if bad is not None:
                    raise _non_retryable(str(bad), "StepTypeError")
                return out
            url = self.tool_urls.get(key)
            if url is not None:
                return await self._run_http(key, url, value, key_id, principal)
            if "/" in key and self.mcp_call is not None:
                server, tool_name = key.split("/", 1)
                return await self._call_mcp(server, tool_name, value, key_id, principal, want)
        except ToolUnavailable as exc:
            raise _transient(exc, "ToolUnavailable") from exc  # retried where the call may retry
        except ComposableAgentsError as exc:
            if exc.non_retryable:
                raise _non_retryable(str(exc), type(exc).__name__) from exc
            raise
        except ApplicationError:
            raise
        except Exception as exc:
            # The user's own failure: its type is the error a Result reports, as locally; benign,
            # so the SDK logs each failed attempt at DEBUG instead of a WARNING with a traceback.
            raise ApplicationError(str(exc), type=type(exc).__name__, category=ApplicationErrorCategory.BENIGN) from exc
        msg = (
            f"tool {key!r} is not available on this worker (task queue "
            f"{activity.info().task_queue!r}): import its module or pass run_worker(modules=[...]) / "
            "deployments=[...], or map it in tool_urls / serve it through mcp_call"
        )
        raise _non_retryable(msg, "ToolNotFound")

    async def _call_mcp(
        self, server: str, tool_name: str, value: Json, key_id: str, principal: Json, want: Any
    ) -> Any:
        """``mcp_call(server, tool, value, key)``, plus ``principal=`` and the frozen ``definition=``
        (so the caller compares the live listing with it) when the callable takes them."""
        fn = self.mcp_call
        assert fn is not None
        takes = self._mcp_takes
        extra: dict[str, Any] = {}
        if principal is not None and "principal" in takes:
            extra["principal"] = principal
        if "definition" in takes and isinstance(want, str):
            definition = find_tool_definition(want) or self._hosted_defs.get(want)
            if definition is not None:
                extra["definition"] = definition
        return await self._off_loop(fn, lambda: fn(server, tool_name, value, key_id, **extra))

    async def _run_local(self, definition: ToolDef, value: Json, key_id: str, principal: Json) -> Any:
        try:
            args, kwargs = definition.arguments(value, key_id, principal)
        except TypeError as exc:  # the value is not the record the body takes
            raise _non_retryable(str(exc), "StepTypeError") from None
        fn = definition.fn
        assert fn is not None
        if definition.is_async:
            return await fn(*args, **kwargs)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, lambda: fn(*args, **kwargs))

    async def _run_http(self, key: str, url: str, value: Json, key_id: str, principal: Json) -> Any:
        host = urlparse(url).hostname or ""
        if self._network is not None and host not in self._network:
            msg = f"tool {key!r}: host {host!r} is not in the network grants {sorted(self._network)}"
            raise _non_retryable(msg, "CapabilityDenied")
        try:
            import httpx
        except ImportError as exc:  # pragma: no cover - depends on the environment
            msg = "HTTP tools need httpx: pip install 'composable-agents[http]'"
            raise _non_retryable(msg, "MissingDependency") from exc
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=self.http_timeout_s)
        headers = {"Idempotency-Key": key_id}
        if principal is not None:
            import json

            headers["X-Principal"] = json.dumps(principal, separators=(",", ":"))
        response = await self._http.post(url, json=value, headers=headers)
        if 400 <= response.status_code < 500 and response.status_code not in (408, 409, 425, 429):
            msg = f"tool {key!r} at {url} answered {response.status_code}: {response.text[:200]}"
            raise _non_retryable(msg, "ToolRejected")
        response.raise_for_status()
        if not response.content:
            return None
        return response.json()

    async def _call(
        self, fn: Callable[..., Any], args: tuple[Any, ...], principal: Json, offer: Json = None
    ) -> Any:
        runtime: dict[str, Any] = {}
        if principal is not None:
            runtime["principal"] = principal
        if offer is not None:
            runtime["offer"] = offer
        return await self._off_loop(fn, lambda: call_with_runtime_params(fn, args, {}, runtime))

    async def _off_loop(self, fn: Callable[..., Any], call: Callable[[], Any]) -> Any:
        """``call()`` (which calls ``fn``): awaited when ``fn`` is async, else in the thread pool
        (and its result awaited when a sync ``fn`` returned an awaitable)."""
        if inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, "__call__", None)):  # noqa: B004 - an async __call__, not a callable check
            return await call()
        result = await asyncio.get_running_loop().run_in_executor(self.executor, call)
        if inspect.isawaitable(result):
            return await result
        return result

    # -- invokeReasoner -----------------------------------------------------------

    def _reasoner(self, name: str, want: str | None, artifact: str | None) -> Reasoner[Any, Any] | None:
        if want:
            known = find_reasoner(want)
            if known is not None and known.name == name:
                return known
        if artifact:
            loaded = find_loaded(artifact)
            if loaded is not None and name in loaded.reasoners:
                return loaded.reasoners[name]
        found = self.registry.reasoners.get(name)
        if found is not None and (want is None or found.definition_hash() == want):
            return found
        for dep in self.deployments:
            found = dep.frozen.reasoners.get(name)
            if found is not None and (want is None or found.definition_hash() == want):
                return found
        return None

    @activity.defn(name=INVOKE_REASONER)
    async def invoke_reasoner(self, req: dict[str, Any]) -> Any:
        """Call ``llm(reasoner, value)`` with the frozen reasoner definition."""
        name = str(req["r"])
        if self.llm is None:
            msg = f"reasoner {name!r}: this worker has no llm= handler (run_worker(llm=...))"
            raise _non_retryable(msg, "MissingLLM")
        reasoner = self._reasoner(name, req.get("d"), req.get("a"))
        if reasoner is None:
            msg = (
                f"reasoner {name!r} (definition {str(req.get('d'))[:23]}...) is not known to this worker: "
                "import the module that defines it or host the deployment"
            )
            raise _non_retryable(msg, "ReasonerNotFound")
        try:
            return await self._call(self.llm, (reasoner, req.get("v")), req.get("p"), req.get("o"))
        except ProviderUnavailable as exc:
            raise _transient(exc, "ProviderUnavailable") from exc
        except ComposableAgentsError as exc:
            if exc.non_retryable:
                raise _non_retryable(str(exc), type(exc).__name__) from exc
            raise

    def all(self) -> list[Callable[..., Any]]:
        """The activity callables to register on a worker."""
        return [self.call_tool, self.invoke_reasoner]


def _transient(exc: ToolUnavailable | ProviderUnavailable, etype: str) -> ApplicationError:
    """A transient failure: retryable, after the server's ``Retry-After`` when it sent one."""
    delay = timedelta(seconds=exc.retry_after_s) if exc.retry_after_s is not None else None
    return ApplicationError(str(exc), type=etype, next_retry_delay=delay)


def _granted(key: str, allowed: set[str]) -> bool:
    """``key`` is listed, or its MCP server is granted whole with ``server/*``."""
    return key in allowed or ("/" in key and key.split("/", 1)[0] + "/*" in allowed)
