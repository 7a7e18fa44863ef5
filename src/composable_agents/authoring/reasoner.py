"""Reasoners and ``think``: an LLM call as a typed leaf.

A :class:`Reasoner` is a definition (name, model, system prompt, reply type,
limits) whose content lands in its definition hash; ``think(reasoner)`` is the
leaf that calls it, and ``think(reasoner, handle)`` inside a ``@flow`` body
appends that step. A reasoner without ``prompt=`` is typed
``Reasoner[NoPrompt, R]`` and ``think`` of it is a ``PromptlessThink[R]``:
the ``Any`` input sits in a base class, never in a type argument, so mypy's
overload resolution never collapses a composition with it to ``Any``.
Rejected alternative: one module with tools and pures, which passed 800 lines
and mixed three ideas.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar, final, overload

from composable_agents.authoring._hooks import _schema, _traced
from composable_agents.authoring.arrow import Pipeline
from composable_agents.core.canonical import JsonObject, content_hash
from composable_agents.core.ir import Ann, ContextPolicy, Prim, ThinkStep
from composable_agents.core.pures import DEFAULT_REGISTRY, Registry
from composable_agents.errors import CompositionError

__all__ = ["NoPrompt", "PromptlessThink", "Reasoner", "Think", "ThinkByName", "think"]

I = TypeVar("I", contravariant=True)  # noqa: PLC0105  (the SPEC names it I)
O = TypeVar("O", covariant=True)  # noqa: PLC0105
P = TypeVar("P", contravariant=True)  # noqa: PLC0105
R = TypeVar("R", covariant=True)  # noqa: PLC0105


@final
class NoPrompt:
    """Type-level marker: a ``Reasoner`` declared without ``prompt=`` (its input is ``Any``).

    Never instantiated; ``Reasoner[NoPrompt, R]`` makes ``think`` pick the
    ``PromptlessThink[R]`` leaf instead of a ``Think[Any, R]``.
    """

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Reasoner(Generic[P, R]):
    """An LLM step definition: model, system prompt, and typed prompt/reply.

    ``reply`` (a type) makes the reply checked at run time; ``prompt`` types
    the input (without it the input is ``Any``). ``output_retries`` is how
    often a real model is re-asked after a reply that fails the reply schema
    (``composable_agents.models``).
    """

    name: str
    model: str
    system: str = ""
    reply: type[R] | Any = None
    prompt: type[P] | Any = None
    tools: tuple[str, ...] = ()
    temperature: float | None = None
    max_tokens: int | None = None
    output_retries: int = 1

    if TYPE_CHECKING:
        # The static constructor: ``reply``/``prompt`` classes fill ``R``/``P``;
        # an omitted ``prompt`` gives ``NoPrompt``, an omitted ``reply`` ``Any``.
        @overload
        def __init__(
            self: Reasoner[NoPrompt, Any],
            name: str,
            model: str,
            system: str = "",
            reply: None = None,
            prompt: None = None,
            tools: tuple[str, ...] | list[str] = (),
            temperature: float | None = None,
            max_tokens: int | None = None,
            output_retries: int = 1,
        ) -> None: ...
        @overload
        def __init__(
            self: Reasoner[NoPrompt, R],
            name: str,
            model: str,
            system: str = "",
            *,
            reply: type[R],
            prompt: None = None,
            tools: tuple[str, ...] | list[str] = (),
            temperature: float | None = None,
            max_tokens: int | None = None,
            output_retries: int = 1,
        ) -> None: ...
        @overload
        def __init__(
            self: Reasoner[P, Any],
            name: str,
            model: str,
            system: str = "",
            reply: None = None,
            *,
            prompt: type[P],
            tools: tuple[str, ...] | list[str] = (),
            temperature: float | None = None,
            max_tokens: int | None = None,
            output_retries: int = 1,
        ) -> None: ...
        @overload
        def __init__(
            self: Reasoner[P, R],
            name: str,
            model: str,
            system: str = "",
            *,
            reply: type[R],
            prompt: type[P],
            tools: tuple[str, ...] | list[str] = (),
            temperature: float | None = None,
            max_tokens: int | None = None,
            output_retries: int = 1,
        ) -> None: ...
        def __init__(self, *args: Any, **kwargs: Any) -> None: ...

    def __post_init__(self) -> None:
        given: object = self.name
        if not isinstance(given, str) or not self.name:
            msg = f"`name` must be a non-empty string, got {self.name!r}"
            raise CompositionError(msg)
        retries: object = self.output_retries
        if type(retries) is not int or self.output_retries < 0:
            msg = f"`output_retries` must be a non-negative int, got {retries!r}"
            raise CompositionError(msg)
        object.__setattr__(self, "tools", tuple(self.tools))

    def definition_json(self) -> JsonObject:
        """The frozen definition (what ``llm(reasoner, value)`` receives)."""
        out: JsonObject = {"name": self.name, "model": self.model, "system": self.system}
        if self.reply is not None:
            out["reply"] = _schema(self.reply)
        if self.prompt is not None:
            out["prompt"] = _schema(self.prompt)
        if self.tools:
            out["tools"] = list(self.tools)
        if self.temperature is not None:
            out["temperature"] = self.temperature
        if self.max_tokens is not None:
            out["maxTokens"] = self.max_tokens
        if self.output_retries != 1:  # the default stays out, so existing definition hashes hold
            out["outputRetries"] = self.output_retries
        return out

    def definition_hash(self) -> str:
        """``sha256:`` over :meth:`definition_json`."""
        return content_hash(self.definition_json())


class Think(Pipeline[I, O]):
    """A reasoner step as an arrow (``think(reasoner)``): ``Pipeline[P, R]``."""

    __slots__ = ("_reasoner",)

    _reasoner: str

    @property
    def reasoner_name(self) -> str:
        """The reasoner's name."""
        return self._reasoner

    def _copy_extra(self, clone: Any) -> None:
        object.__setattr__(clone, "_reasoner", self._reasoner)

    if TYPE_CHECKING:

        def __call__(
            self,
            value: I,
            /,
            *,
            name: str | None = None,
            retries: int | None = None,
            timeout_s: float | None = None,
            retry_interval_s: float | None = None,
            backoff_rate: float | None = None,
        ) -> O: ...

    else:

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            traced = _traced(self, args, kwargs)
            if traced is not NotImplemented:
                return traced
            msg = f"think({self._reasoner!r}) is a flow step; it runs only inside a deployment"
            raise CompositionError(msg)


class PromptlessThink(Think[Any, O]):
    """``think(reasoner)`` of a reasoner without ``prompt=``: a ``Pipeline[Any, R]``.

    A separate class (no type variable in the input slot) so mypy never
    resolves a composition with it to ``Any`` (SPEC §3).
    """

    __slots__ = ()


class ThinkByName(Think[Any, Any]):
    """``think("reasoner_name")``: a reasoner step with ``Any`` ends, named by a string."""

    __slots__ = ()


@overload
def think(
    reasoner: Reasoner[NoPrompt, R],
    /,
    *,
    ann: Ann | None = None,
    ctx: ContextPolicy | None = None,
    name: str | None = None,
    registry: Registry | None = None,
) -> PromptlessThink[R]: ...
@overload
def think(
    reasoner: Reasoner[P, R],
    /,
    *,
    ann: Ann | None = None,
    ctx: ContextPolicy | None = None,
    name: str | None = None,
    registry: Registry | None = None,
) -> Think[P, R]: ...
@overload
def think(
    reasoner: str,
    /,
    *,
    ann: Ann | None = None,
    ctx: ContextPolicy | None = None,
    name: str | None = None,
    registry: Registry | None = None,
) -> ThinkByName: ...
@overload
def think(reasoner: Reasoner[NoPrompt, R], value: object, /, **opts: Any) -> R: ...
@overload
def think(reasoner: Reasoner[P, R], value: P, /, **opts: Any) -> R: ...
@overload
def think(reasoner: str, value: object, /, **opts: Any) -> Any: ...


def think(  # type: ignore[misc]  # the flow-body overloads route extra options through **opts
    reasoner: Reasoner[Any, Any] | str,
    *args: Any,
    ann: Ann | None = None,
    ctx: ContextPolicy | None = None,
    name: str | None = None,
    registry: Registry | None = None,
    **opts: Any,
) -> Any:
    """A reasoner step: ``think(r)`` builds the leaf; in a ``@flow``, ``think(r, handle)`` appends it."""
    given: object = reasoner
    cls: type[Think[Any, Any]]
    if isinstance(given, Reasoner):
        (registry or DEFAULT_REGISTRY).register_reasoner(given)
        rname = given.name
        in_type: object = given.prompt if given.prompt is not None else Any
        out_type: object = given.reply if given.reply is not None else Any
        cls = Think if given.prompt is not None else PromptlessThink
    elif isinstance(given, str) and given:
        rname, in_type, out_type = given, Any, Any
        cls = ThinkByName
    else:
        msg = f"`reasoner` must be a Reasoner or a reasoner name, got {reasoner!r}"
        raise CompositionError(msg)
    leaf: Think[Any, Any] = cls(
        Prim(step=ThinkStep(rname), ann=ann, ctx=ctx, name=name),
        in_type=in_type,
        out_type=out_type,
        label=rname,
    )
    object.__setattr__(leaf, "_reasoner", rname)
    if args or opts:
        traced = _traced(leaf, args, opts)
        if traced is NotImplemented:
            msg = "think(reasoner, value, ...) appends a step only inside a @flow body; use think(reasoner) to build a leaf"
            raise CompositionError(msg)
        return traced
    return leaf
