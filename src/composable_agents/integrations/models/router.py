"""``router()``: the :data:`LLM` that calls real providers for every reasoner (SPEC §17).

One :class:`Router` dispatches on the ``Reasoner.model`` prefix
(``anthropic:<id>``, ``openai:<id>``) to a provider module and owns what is
the same for every provider:

* the request (``system``, one user message holding the value, ``max_tokens``
  default 1024, ``temperature`` when set);
* structured replies — the provider's native mechanism, then our compiled
  validator, re-asked up to ``Reasoner.output_retries`` times with the
  validation error, then :class:`~composable_agents.errors.StepTypeError`;
* controllers — when the agent loop passes ``offer=`` (the granted tools and
  sub-flows), the model is offered them plus ``finish``/``escalate`` as
  provider tools, and its one tool call becomes one action;
* usage and cost into ``__usage__`` (so budgets and the projection see real
  figures), with the provider, the model and any fallback taken;
* fallback chains (``resilience.with_fallback``, transient errors only) and a
  circuit breaker per provider.

Rejected alternative: one adapter class per provider doing all of the above —
the structured-reply, controller and usage rules would then be written twice
and drift apart.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from composable_agents.core.canonical import Json, JsonObject
from composable_agents.core.schema import Validator, compile_schema, short_repr
from composable_agents.errors import ModelNotConfigured, ProviderRefusal, StepTypeError
from composable_agents.execution.resilience import CircuitBreaker, FallbackPolicy, with_fallback
from composable_agents.integrations.models._actions import (
    object_schema,
    offered_tools,
    strict_form,
    to_action,
)
from composable_agents.integrations.models._pricing import price
from composable_agents.integrations.models._wire import (
    AssistantTurn,
    Provider,
    Reply,
    Request,
    ToolResults,
    Turn,
    Usage,
    UserText,
)
from composable_agents.integrations.models.anthropic import AnthropicProvider
from composable_agents.integrations.models.openai import OpenAIProvider

if TYPE_CHECKING:
    from composable_agents.authoring.leaves import Reasoner

__all__ = ["DEFAULT_MAX_TOKENS", "Router", "router", "split_model"]

DEFAULT_MAX_TOKENS: Final = 1024
"""``max_tokens`` of a reasoner that sets none."""

_ENV_KEYS: Final = {"anthropic": "ANTHROPIC_API_KEY", "openai": "OPENAI_API_KEY"}
_NEVER_OPEN: Final = 2**62
_NO_DEFINITION: Final = "no Reasoner definition to call (give the step or the Agent a Reasoner(name, model))"


def split_model(model: str) -> tuple[str, str]:
    """``("anthropic", "claude-haiku-4-5")`` for ``"anthropic:claude-haiku-4-5"``; ``("", model)`` without a prefix."""
    prefix, sep, rest = model.partition(":")
    if not sep or not rest:
        return "", model
    return prefix, rest


@dataclass(frozen=True, slots=True)
class _Shape:
    """How one reasoner's structured reply is asked for and checked (computed once per definition)."""

    schema: JsonObject
    wrapped: bool
    strict: bool
    validator: Validator


def _prompt_text(value: Json) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class Router:
    """The :data:`~composable_agents.integrations.models.LLM` made by :func:`router`.

    Call it as ``await llm(reasoner, value)`` (``principal=`` is accepted and
    not sent; ``offer=`` marks an agent controller call). It returns
    ``{"__value__": reply, "__usage__": usage}``. :meth:`check` raises
    :class:`~composable_agents.errors.ModelNotConfigured` listing every
    reasoner it cannot serve; runners call it before the first step.
    """

    def __init__(
        self,
        providers: Mapping[str, Provider],
        fallback: Mapping[str, Sequence[str]],
        breakers: Mapping[str, CircuitBreaker],
    ) -> None:
        self.providers = dict(providers)
        self.fallback = {k: list(v) for k, v in fallback.items()}
        self.breakers = dict(breakers)
        self._chains: dict[str, Any] = {}
        self._shapes: dict[str, _Shape] = {}

    # -- configuration -------------------------------------------------------------

    def problem(self, model: str) -> str | None:
        """Why ``model`` cannot be called (``None``: it can)."""
        prefix, _ = split_model(model)
        if not prefix:
            return f"model {model!r} names no provider: write 'anthropic:<model-id>' or 'openai:<model-id>'"
        provider = self.providers.get(prefix)
        if provider is None:
            known = ", ".join(sorted(self.providers))
            return f"model {model!r}: unknown provider {prefix!r} (known: {known})"
        if not provider.configured:
            env = _ENV_KEYS.get(prefix, "an API key")
            return f"model {model!r}: no API key for {prefix} (set {env} or pass router({prefix}=...))"
        return None

    def missing(self, reasoners: Iterable[Reasoner[Any, Any] | str]) -> dict[str, str]:
        """``{reasoner name: why}`` for every reasoner whose model this router cannot call.

        A bare name is a reasoner without a definition (no model to call).
        """
        out: dict[str, str] = {}
        for reasoner in reasoners:
            if isinstance(reasoner, str):
                out[reasoner] = _NO_DEFINITION
                continue
            why = self.problem(reasoner.model)
            if why is not None:
                out[reasoner.name] = why
        return dict(sorted(out.items()))

    def check(self, reasoners: Iterable[Reasoner[Any, Any] | str]) -> None:
        """Raise :class:`ModelNotConfigured` listing every reasoner without a provider."""
        missing = self.missing(reasoners)
        if missing:
            raise ModelNotConfigured(missing)

    # -- one call through the chain --------------------------------------------------

    def _breaker(self, prefix: str) -> CircuitBreaker:
        found = self.breakers.get(prefix)
        if found is None:
            found = self.breakers[prefix] = CircuitBreaker(failure_threshold=_NEVER_OPEN)
        return found

    def _chain(self, model: str) -> Any:
        chain = self._chains.get(model)
        if chain is not None:
            return chain
        models = [model] + [m for m in self.fallback.get(model, ()) if self.problem(m) is None]
        callers = []
        breakers = []
        for spec in models:
            prefix, model_id = split_model(spec)
            provider = self.providers[prefix]
            callers.append(_attempt(provider, spec, model_id))
            breakers.append(self._breaker(prefix))
        chain = self._chains[model] = with_fallback(*callers, policy=FallbackPolicy(breakers=breakers))
        return chain

    def _shape(self, reasoner: Reasoner[Any, Any]) -> _Shape | None:
        if reasoner.reply is None:
            return None
        key = reasoner.definition_hash()
        shape = self._shapes.get(key)
        if shape is None:
            raw = reasoner.definition_json().get("reply")
            reply_schema = raw if isinstance(raw, dict) else {}
            schema, wrapped = object_schema(reply_schema, "value")
            tight = strict_form(schema)
            if isinstance(tight, dict):
                schema, strict = tight, True
            else:
                strict = False
            shape = self._shapes[key] = _Shape(schema, wrapped, strict, compile_schema(reply_schema))
        return shape

    # -- the LLM ---------------------------------------------------------------------------

    async def __call__(
        self,
        reasoner: Reasoner[Any, Any] | str,
        value: Json,
        *,
        principal: Json = None,
        offer: Mapping[str, Any] | None = None,
    ) -> JsonObject:
        """Answer ``reasoner`` for ``value``: ``{"__value__": reply, "__usage__": usage}``."""
        if isinstance(reasoner, str):
            raise ModelNotConfigured({reasoner: _NO_DEFINITION})
        why = self.problem(reasoner.model)
        if why is not None:
            raise ModelNotConfigured({reasoner.name: why})
        _, model_id = split_model(reasoner.model)
        base = Request(
            model=model_id,
            system=reasoner.system or "",
            turns=(UserText(_prompt_text(value)),),
            max_tokens=reasoner.max_tokens or DEFAULT_MAX_TOKENS,
            temperature=reasoner.temperature,
        )
        chain = self._chain(reasoner.model)
        log: list[tuple[Reply, str]] = []
        if offer is not None:
            out = await self._controller(reasoner, base, offer, chain, log)
        else:
            out = await self._reasoner(reasoner, base, chain, log)
        return {"__value__": out, "__usage__": _usage(reasoner.model, log)}

    async def _ask(self, chain: Any, request: Request, log: list[tuple[Reply, str]], name: str) -> Reply:
        answer: tuple[Reply, str] = await chain(request)
        reply, used = answer
        log.append(answer)
        if reply.stop == "refusal":
            raise ProviderRefusal(f"reasoner {name!r}: {used} refused: {reply.text[:200]}", provider=split_model(used)[0], model=used)
        return reply

    async def _reasoner(self, reasoner: Reasoner[Any, Any], base: Request, chain: Any, log: list[tuple[Reply, str]]) -> Json:
        shape = self._shape(reasoner)
        if shape is None:
            reply = await self._ask(chain, base, log, reasoner.name)
            if reply.stop == "max_tokens":
                raise _cut(reasoner, base, reply.text)
            return reply.text
        request = dataclasses.replace(base, reply_schema=shape.schema, reply_strict=shape.strict)
        turns: list[Turn] = list(base.turns)
        retries = max(0, int(getattr(reasoner, "output_retries", 1)))
        problem: tuple[str, str, str] = ("$", "a reply", "<none>")
        for _ in range(1 + retries):
            reply = await self._ask(chain, dataclasses.replace(request, turns=tuple(turns)), log, reasoner.name)
            if reply.stop == "max_tokens":
                raise _cut(reasoner, request, reply.output if reply.has_output else reply.text)
            if reply.has_output:
                candidate = reply.output
                if shape.wrapped:
                    candidate = candidate.get("value") if isinstance(candidate, dict) else None
                violation = shape.validator.first_error(candidate)
                if violation is None:
                    return candidate
                problem = (violation.path, violation.expected, violation.value_repr)
                text = f"Your reply does not match the schema: the value at {violation.path} is {violation.value_repr}, expected {violation.expected}."
            else:
                problem = ("$", "a reply matching the reply schema", short_repr(reply.text))
                text = f"Your reply could not be read: {reply.output_error}."
            turns += [AssistantTurn(reply), _follow_up(reply, text + " Answer again with a corrected reply.")]
        raise StepTypeError(reasoner.name, *problem)

    async def _controller(
        self,
        reasoner: Reasoner[Any, Any],
        base: Request,
        offer: Mapping[str, Any],
        chain: Any,
        log: list[tuple[Reply, str]],
    ) -> Json:
        offered = offered_tools(offer)
        request = dataclasses.replace(base, tools=offered.tools, tool_choice="any")
        turns: list[Turn] = list(base.turns)
        reply: Reply | None = None
        for attempt in range(2):  # one re-ask (SPEC §17), then the loop's controller_error
            reply = await self._ask(chain, dataclasses.replace(request, turns=tuple(turns)), log, reasoner.name)
            if reply.stop == "max_tokens":
                raise _cut(reasoner, request, reply.text)
            if len(reply.tool_uses) == 1:
                return to_action(reply.tool_uses[0], offered)
            if attempt == 0:
                if reply.tool_uses:
                    note = "Call exactly one tool per reply; none of these calls ran."
                else:
                    note = "Answer by calling exactly one of the offered tools (finish, escalate or a tool)."
                turns += [AssistantTurn(reply), _follow_up(reply, note)]
        assert reply is not None
        calls = [u.name for u in reply.tool_uses]
        # Not an action: the agent loop records it as this round's controller_error.
        return {"error": f"the model made {len(calls)} tool calls (one expected) after a re-ask", "calls": calls, "text": reply.text}


def _attempt(provider: Provider, spec: str, model_id: str) -> Any:
    async def call(request: Request) -> tuple[Reply, str]:
        reply = await provider.complete(dataclasses.replace(request, model=model_id))
        return reply, spec

    return call


def _follow_up(reply: Reply, text: str) -> Turn:
    """The turn after ``reply``: tool results answering each of its calls, else a user message."""
    if reply.tool_uses:
        return ToolResults(tuple((u.id, text, True) for u in reply.tool_uses))
    return UserText(text)


def _cut(reasoner: Reasoner[Any, Any], request: Request, value: object) -> StepTypeError:
    return StepTypeError(
        reasoner.name,
        "$",
        f"a complete reply (it was cut by max_tokens={request.max_tokens}; raise Reasoner(max_tokens=...))",
        short_repr(value),
    )


def _usage(primary: str, log: Sequence[tuple[Reply, str]]) -> JsonObject:
    """The ``__usage__`` record of every call made for one reasoner step."""
    total = Usage()
    cost = 0.0
    unknown = False
    for reply, used in log:
        total = total + reply.usage
        prefix, model_id = split_model(used)
        usd = price(prefix, model_id, reply.usage)
        if usd is None:
            unknown = True
        else:
            cost += usd
    used = log[-1][1] if log else primary
    prefix, model_id = split_model(used)
    out: JsonObject = {
        "input_tokens": total.input_tokens,
        "output_tokens": total.output_tokens,
        "cache_read_tokens": total.cache_read_tokens,
        "cache_write_tokens": total.cache_write_tokens,
        "tokens": total.tokens,
        "cost": round(cost, 12),
        "provider": prefix,
        "model": model_id,
        "calls": len(log),
    }
    if used != primary:
        out["fallback"] = {"from": primary, "to": used}
    if unknown:
        out["costUnknown"] = True
    return out


def router(
    *,
    anthropic: AnthropicProvider | None = None,
    openai: OpenAIProvider | None = None,
    fallback: Mapping[str, Sequence[str]] | None = None,
    breaker: CircuitBreaker | Mapping[str, CircuitBreaker] | None = None,
) -> Router:
    """The :data:`LLM` that calls real models by ``Reasoner.model`` prefix (SPEC §17).

    ``anthropic``/``openai`` configure each provider; omitted, they read
    ``ANTHROPIC_API_KEY``/``ANTHROPIC_BASE_URL`` and
    ``OPENAI_API_KEY``/``OPENAI_BASE_URL`` now. ``fallback`` maps a model to
    the models tried, in order, after a transient failure
    (``{"anthropic:m": ["openai:n"]}``). ``breaker`` is a
    :class:`~composable_agents.execution.resilience.CircuitBreaker` whose
    settings each provider gets a fresh copy of, or ``{provider: breaker}``.
    """
    providers: dict[str, Provider] = {
        "anthropic": anthropic if anthropic is not None else AnthropicProvider(),
        "openai": openai if openai is not None else OpenAIProvider(),
    }
    chains: dict[str, list[str]] = {}
    for source, targets in (fallback or {}).items():
        if isinstance(targets, str):
            targets = [targets]
        for spec in (source, *targets):
            if split_model(spec)[0] not in providers:
                msg = f"`fallback`: {spec!r} must be 'anthropic:<model-id>' or 'openai:<model-id>'"
                raise ValueError(msg)
        chains[source] = list(targets)
    breakers: dict[str, CircuitBreaker] = {}
    if isinstance(breaker, CircuitBreaker):
        for name in providers:
            breakers[name] = dataclasses.replace(breaker, failures=0, opened_at=None)
    elif breaker is not None:
        for name, one in breaker.items():
            if name not in providers or not isinstance(one, CircuitBreaker):
                msg = f"`breaker`: expected {{'anthropic' | 'openai': CircuitBreaker}}, got {name!r}: {one!r}"
                raise ValueError(msg)
            breakers[name] = one
    return Router(providers, chains, breakers)
