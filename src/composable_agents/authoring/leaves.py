"""Typed leaves: ``@tool`` and ``@pure`` (``Reasoner`` and ``think`` live in :mod:`.reasoner`, re-exported here).

A decorated tool or pure is an arrow *and* a plain callable: composing it
builds IR, calling it with ordinary values runs the function (guarded by
beartype, so a wrong argument type raises at the call), so unit tests of tool
bodies stay plain Python. Inside a ``@flow`` body a call with a handle appends
a step instead (see :mod:`composable_agents.authoring.flow`).

Tool input packing: a tool with one positional parameter receives the flowing
value itself; a tool with several receives a record ``{param: value}`` that
the runtime unpacks into keyword arguments; keyword-only ``idempotency_key``
and ``principal`` parameters are filled by the runtime and are not part of the
input schema.

Static typing (SPEC §3): ``@tool`` on a one-parameter function gives
``Tool[I, O]`` whose call takes an ``I`` plus the step options and is an
``O``; async bodies are typed by their awaited result; a multi-parameter
function gives ``RecordTool[P, O]`` (a ``Tool[Mapping[str, Any], O]`` called
with the original signature). A reasoner without ``prompt=`` is typed
``Reasoner[NoPrompt, R]`` and ``think`` of it is a ``PromptlessThink[R]``:
the ``Any`` input sits in a base class, never in a type argument, so mypy's
overload resolution never collapses a composition with it to ``Any``.
"""
# The tool/pure decorator overloads go from the narrowest body shape to the
# broadest; mypy flags the ParamSpec fallbacks as overlapping or unreachable
# because a ``(*args, **kwargs)`` signature is callable with no arguments, but
# resolution tries them in order and the typesafety corpus pins the outcome.
# mypy: disable-error-code="overload-overlap, overload-cannot-match"

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Generic, ParamSpec, Protocol, TypeVar, overload

from composable_agents.authoring._hooks import TRACE_HOOKS, _schema, _traced
from composable_agents.authoring.arrow import Pipeline
from composable_agents.authoring.reasoner import (
    NoPrompt,
    PromptlessThink,
    Reasoner,
    Think,
    ThinkByName,
    think,
)
from composable_agents.core.canonical import JsonObject, content_hash
from composable_agents.core.ir import Ann, Arr, CallStep, Prim
from composable_agents.core.kinds import Effect, Idempotency
from composable_agents.core.pures import DEFAULT_REGISTRY, PureDef, Registry, source_hash
from composable_agents.errors import CompositionError

__all__ = [
    "RUNTIME_PARAMS",
    "STEP_OPTIONS",
    "TRACE_HOOKS",
    "KeyedTool",
    "NoPrompt",
    "NullaryTool",
    "PromptlessThink",
    "Pure",
    "Reasoner",
    "RecordTool",
    "Think",
    "ThinkByName",
    "Tool",
    "ToolContract",
    "ToolDef",
    "pure",
    "think",
    "tool",
]

I = TypeVar("I", contravariant=True)  # noqa: PLC0105  (the SPEC names it I)
O = TypeVar("O", covariant=True)  # noqa: PLC0105
P = TypeVar("P", contravariant=True)  # noqa: PLC0105
R = TypeVar("R", covariant=True)  # noqa: PLC0105
_X = TypeVar("_X")
_Y = TypeVar("_Y")
_A = TypeVar("_A", contravariant=True)  # noqa: PLC0105
_B = TypeVar("_B", covariant=True)  # noqa: PLC0105
_Pm = ParamSpec("_Pm")

STEP_OPTIONS: Final = frozenset(
    {"name", "retries", "timeout_s", "retry_interval_s", "backoff_rate"}
)
"""Per-call step options a single-input tool call accepts (used inside ``@flow`` bodies)."""

RUNTIME_PARAMS: Final = frozenset({"idempotency_key", "principal"})
"""Keyword-only parameters the runtime fills; never part of a tool's input."""

@dataclass(frozen=True, slots=True)
class ToolContract:
    """What a tool promises: effect, idempotency, schemas, and whether it needs approval."""

    effect: Effect = Effect.WRITE
    idempotency: Idempotency = Idempotency.NONE
    input_schema: JsonObject = field(default_factory=dict)
    output_schema: JsonObject = field(default_factory=dict)
    approval: bool = False

    def to_json(self) -> JsonObject:
        """The wire form used in manifests and definition hashes."""
        out: JsonObject = {
            "effect": str(self.effect),
            "idempotency": str(self.idempotency),
            "inputSchema": self.input_schema,
            "outputSchema": self.output_schema,
        }
        if self.approval:
            out["approval"] = "required"
        return out

    @property
    def retry_safe(self) -> bool:
        """Read-only or asserted idempotent: safe to retry and to race."""
        return self.effect is Effect.READ or self.idempotency is not Idempotency.NONE


@dataclass(frozen=True, slots=True, eq=False)
class ToolDef:
    """A tool definition: its key, contract and (for native tools) the Python body.

    ``params`` are the input parameter names (record fields when more than
    one); ``single`` is True when the flowing value is passed as the only
    positional argument.
    """

    key: str
    contract: ToolContract
    fn: Callable[..., Any] | None = None
    kind: str = "native"
    params: tuple[str, ...] = ()
    single: bool = True
    wants_key: bool = False
    wants_principal: bool = False
    is_async: bool = False
    body_hash: str | None = None
    in_type: object = Any
    out_type: object = Any
    server: str | None = None
    server_version: str | None = None
    default_ann: Ann | None = None

    def definition_json(self) -> JsonObject:
        """Everything that identifies this tool's definition (hashed at freeze)."""
        out: JsonObject = {"key": self.key, "kind": self.kind, "contract": self.contract.to_json()}
        if self.body_hash is not None:
            out["body"] = self.body_hash
        if self.server is not None:
            out["server"] = self.server
        if self.server_version is not None:
            out["serverVersion"] = self.server_version
        return out

    def definition_hash(self) -> str:
        """``sha256:`` over :meth:`definition_json`."""
        return content_hash(self.definition_json())

    def arguments(self, value: Any, idempotency_key: str, principal: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """How the body is called with the flowing ``value``: ``(args, kwargs)``, runtime parameters included.

        A single-input tool gets the value itself, a nullary one nothing, a
        multi-parameter one the record's fields as keywords (``TypeError``
        when the value is not a record); ``idempotency_key``/``principal``
        are passed when the body declares them. Every backend calls bodies
        through this one rule.
        """
        if self.single:
            args: tuple[Any, ...] = (value,)
            kwargs: dict[str, Any] = {}
        elif not self.params:
            args, kwargs = (), {}
        else:
            if type(value) is not dict:
                msg = f"tool {self.key!r} takes a record {list(self.params)}, got {type(value).__name__}"
                raise TypeError(msg)
            args, kwargs = (), dict(value)
        if self.wants_key:
            kwargs["idempotency_key"] = idempotency_key
        if self.wants_principal:
            kwargs["principal"] = principal
        return args, kwargs


def _inspect_tool(
    fn: Callable[..., Any],
) -> tuple[tuple[str, ...], bool, bool, dict[str, object], object]:
    sig = inspect.signature(fn)
    try:
        hints = inspect.get_annotations(fn, eval_str=True)
    except Exception:  # noqa: BLE001  # unresolvable annotations make the boundary untyped
        hints = {}
    params: list[str] = []
    wants_key = wants_principal = False
    for p in sig.parameters.values():
        if p.name in RUNTIME_PARAMS and p.kind is p.KEYWORD_ONLY:
            wants_key = wants_key or p.name == "idempotency_key"
            wants_principal = wants_principal or p.name == "principal"
            continue
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            msg = f"tool {fn.__name__!r}: *args/**kwargs parameters cannot be typed as an input record"
            raise CompositionError(msg)
        params.append(p.name)
    types = {name: hints.get(name, Any) for name in params}
    return tuple(params), wants_key, wants_principal, types, hints.get("return", Any)


def _record_schema(
    fn: Callable[..., Any], params: tuple[str, ...], types: dict[str, object]
) -> JsonObject:
    sig = inspect.signature(fn)
    props = {name: _schema(types[name]) for name in params}
    required = [n for n in params if sig.parameters[n].default is inspect.Parameter.empty]
    return {"type": "object", "properties": props, "required": required}


def _guard(fn: Callable[..., Any]) -> Callable[..., Any]:
    try:
        from beartype import beartype

        return beartype(fn)
    except Exception:  # noqa: BLE001  # beartype declines some annotations; the raw body still runs
        return fn


class Tool(Pipeline[I, O]):
    """A registered tool as an arrow (``Pipeline[I, O]``) that is also callable.

    ``tool_fn(x)`` outside a flow runs the body; composing it calls the tool
    as a step; ``.key`` and ``.definition`` describe it.
    """

    __slots__ = ("_def", "_guarded")

    _def: ToolDef
    _guarded: Callable[..., Any] | None

    @property
    def key(self) -> str:
        """The tool key (``name=`` or the function's name; ``server/tool`` for MCP)."""
        return self._def.key

    @property
    def name(self) -> str:
        """The tool key, as a reasoner's ``.name`` is its name (what ``call("...")`` resolves)."""
        return self._def.key

    @property
    def definition(self) -> ToolDef:
        """The tool definition (contract, body, parameters)."""
        return self._def

    @property
    def contract(self) -> ToolContract:
        """The tool's contract."""
        return self._def.contract

    def _copy_extra(self, clone: Any) -> None:
        object.__setattr__(clone, "_def", self._def)
        object.__setattr__(clone, "_guarded", self._guarded)

    if TYPE_CHECKING:
        # The static view: a call with an ``I`` is an ``O`` (in a ``@flow``
        # body the tracer returns a handle standing for that ``O``).
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
            return self._invoke(args, kwargs)

    def _invoke(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        traced = _traced(self, args, kwargs)
        if traced is not NotImplemented:
            return traced
        if self._guarded is None:
            msg = f"tool {self.key!r} has no local body (it is an {self._def.kind} tool)"
            raise CompositionError(msg)
        if self._def.single and kwargs:
            # Step options shape a flow step; a direct call just runs the body.
            kwargs = {
                k: v for k, v in kwargs.items() if k not in STEP_OPTIONS or k in self._def.params
            }
        return self._guarded(*args, **kwargs)

    def with_ann(self, ann: Ann) -> Tool[I, O]:
        """The same tool step with ``ann`` merged into its annotations."""
        node = self.to_ir()
        assert isinstance(node, Prim)
        merged = (node.ann or Ann()).merged(ann)
        clone = object.__new__(type(self))
        Pipeline.__init__(
            clone,
            Prim(step=node.step, ann=merged, ctx=node.ctx, name=node.name, src=node.src),
            in_type=self.in_type,
            out_type=self.out_type,
            label=self._label,
        )
        self._copy_extra(clone)
        return clone


class KeyedTool(Tool[I, O]):
    """A one-input tool whose body also takes ``idempotency_key`` and/or ``principal``.

    The runtime fills those on every attempt; a direct call (a unit test) may
    pass them by keyword.
    """

    __slots__ = ()

    if TYPE_CHECKING:

        def __call__(
            self,
            value: I,
            /,
            *,
            idempotency_key: str = ...,
            principal: Any = ...,
            name: str | None = None,
            retries: int | None = None,
            timeout_s: float | None = None,
            retry_interval_s: float | None = None,
            backoff_rate: float | None = None,
        ) -> O: ...


class NullaryTool(Tool[None, O]):
    """A tool whose body takes no input (its flowing input is ``None``)."""

    __slots__ = ()

    if TYPE_CHECKING:

        def __call__(  # type: ignore[override]
            self,
            *,
            name: str | None = None,
            retries: int | None = None,
            timeout_s: float | None = None,
            retry_interval_s: float | None = None,
            backoff_rate: float | None = None,
        ) -> O: ...


class RecordTool(Tool[Mapping[str, Any], O], Generic[_Pm, O]):
    """A multi-parameter tool: a ``Tool[Mapping[str, Any], O]`` whose direct call keeps the body's signature.

    The flowing value is a record ``{param: value}`` unpacked into keyword
    arguments. PEP 612 cannot add step options to ``_Pm``: the mypy plugin
    appends them to the call's signature (without it the call takes none
    statically).
    """

    __slots__ = ()

    if TYPE_CHECKING:

        def __call__(self, *args: _Pm.args, **kwargs: _Pm.kwargs) -> O: ...  # type: ignore[override]


class _KeyedBody(Protocol[_A, _B]):
    def __call__(self, value: _A, /, *, idempotency_key: str) -> _B: ...


class _PrincipalBody(Protocol[_A, _B]):
    def __call__(self, value: _A, /, *, principal: Any) -> _B: ...


class _KeyedPrincipalBody(Protocol[_A, _B]):
    def __call__(self, value: _A, /, *, idempotency_key: str, principal: Any) -> _B: ...


class _ToolDecorator(Protocol):
    """What ``@tool(...)`` returns: the same typing as bare ``@tool``."""

    @overload
    def __call__(self, fn: Callable[[], Awaitable[_Y]], /) -> NullaryTool[_Y]: ...
    @overload
    def __call__(self, fn: Callable[[], _Y], /) -> NullaryTool[_Y]: ...
    @overload
    def __call__(self, fn: Callable[[_X], Awaitable[_Y]], /) -> Tool[_X, _Y]: ...
    @overload
    def __call__(self, fn: Callable[[_X], _Y], /) -> Tool[_X, _Y]: ...
    @overload
    def __call__(self, fn: _KeyedBody[_X, Awaitable[_Y]], /) -> KeyedTool[_X, _Y]: ...
    @overload
    def __call__(self, fn: _KeyedBody[_X, _Y], /) -> KeyedTool[_X, _Y]: ...
    @overload
    def __call__(self, fn: _PrincipalBody[_X, Awaitable[_Y]], /) -> KeyedTool[_X, _Y]: ...
    @overload
    def __call__(self, fn: _PrincipalBody[_X, _Y], /) -> KeyedTool[_X, _Y]: ...
    @overload
    def __call__(self, fn: _KeyedPrincipalBody[_X, Awaitable[_Y]], /) -> KeyedTool[_X, _Y]: ...
    @overload
    def __call__(self, fn: _KeyedPrincipalBody[_X, _Y], /) -> KeyedTool[_X, _Y]: ...
    @overload
    def __call__(self, fn: Callable[_Pm, Awaitable[_Y]], /) -> RecordTool[_Pm, _Y]: ...
    @overload
    def __call__(self, fn: Callable[_Pm, _Y], /) -> RecordTool[_Pm, _Y]: ...
    def __call__(self, fn: Callable[..., Any], /) -> Tool[Any, Any]: ...


def _make_tool(
    fn: Callable[..., Any],
    *,
    name: str | None,
    effect: Effect | str,
    idempotent: bool,
    idempotency: Idempotency | str | None,
    approval: bool,
    ann: Ann | None,
    registry: Registry,
    replace: bool = False,
) -> Tool[Any, Any]:
    key = name or fn.__name__
    if not key or "/" in key or key.startswith("__"):
        msg = (
            f"tool name {key!r} must be non-empty, without '/', and not start with '__' (reserved)"
        )
        raise CompositionError(msg)
    params, wants_key, wants_principal, types, out_type = _inspect_tool(fn)
    if idempotency is None:
        idem = Idempotency.NATIVE if idempotent else Idempotency.NONE
    else:
        idem = Idempotency(idempotency)
    single = len(params) == 1
    cls: type[Tool[Any, Any]] = Tool
    if single:
        in_type = types[params[0]]
        in_schema = _schema(in_type)
        if wants_key or wants_principal:
            cls = KeyedTool
    elif not params:
        in_type = type(None)
        in_schema = {}
        cls = NullaryTool
    else:
        cls = RecordTool
        in_type = Mapping[str, Any]
        in_schema = _record_schema(fn, params, types)
    eff = Effect(effect)
    contract = ToolContract(
        effect=eff,
        idempotency=idem,
        input_schema=in_schema,
        output_schema=_schema(out_type),
        approval=approval or eff is Effect.DANGEROUS,
    )
    definition = ToolDef(
        key=key,
        contract=contract,
        fn=fn,
        params=params,
        single=single,
        wants_key=wants_key,
        wants_principal=wants_principal,
        is_async=inspect.iscoroutinefunction(fn),
        body_hash=source_hash(fn),
        in_type=in_type,
        out_type=out_type,
        default_ann=ann,
    )
    registry.register_tool(definition, replace=replace)
    node = Prim(step=CallStep(key), ann=ann)
    arrow = cls(node, in_type=in_type, out_type=out_type, label=key)
    object.__setattr__(arrow, "_def", definition)
    object.__setattr__(arrow, "_guarded", _guard(fn))
    return arrow


@overload
def tool(fn: Callable[[], Awaitable[_Y]], /) -> NullaryTool[_Y]: ...
@overload
def tool(fn: Callable[[], _Y], /) -> NullaryTool[_Y]: ...
@overload
def tool(fn: Callable[[_X], Awaitable[_Y]], /) -> Tool[_X, _Y]: ...
@overload
def tool(fn: Callable[[_X], _Y], /) -> Tool[_X, _Y]: ...
@overload
def tool(fn: _KeyedBody[_X, Awaitable[_Y]], /) -> KeyedTool[_X, _Y]: ...
@overload
def tool(fn: _KeyedBody[_X, _Y], /) -> KeyedTool[_X, _Y]: ...
@overload
def tool(fn: _PrincipalBody[_X, Awaitable[_Y]], /) -> KeyedTool[_X, _Y]: ...
@overload
def tool(fn: _PrincipalBody[_X, _Y], /) -> KeyedTool[_X, _Y]: ...
@overload
def tool(fn: _KeyedPrincipalBody[_X, Awaitable[_Y]], /) -> KeyedTool[_X, _Y]: ...
@overload
def tool(fn: _KeyedPrincipalBody[_X, _Y], /) -> KeyedTool[_X, _Y]: ...
@overload
def tool(fn: Callable[_Pm, Awaitable[_Y]], /) -> RecordTool[_Pm, _Y]: ...
@overload
def tool(fn: Callable[_Pm, _Y], /) -> RecordTool[_Pm, _Y]: ...
@overload
def tool(
    *,
    name: str | None = None,
    effect: Effect | str = ...,
    idempotent: bool = ...,
    idempotency: Idempotency | str | None = ...,
    approval: bool = ...,
    ann: Ann | None = ...,
    registry: Registry | None = ...,
    replace: bool = ...,
) -> _ToolDecorator: ...
def tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    effect: Effect | str = Effect.WRITE,
    idempotent: bool = False,
    idempotency: Idempotency | str | None = None,
    approval: bool = False,
    ann: Ann | None = None,
    registry: Registry | None = None,
    replace: bool = False,
) -> Tool[Any, Any] | _ToolDecorator:
    """Declare a Python function as a tool and register it.

    ``effect`` is ``read``/``write``/``external``/``dangerous`` (default
    ``write``: unknown tools are assumed to change the world);
    ``idempotent=True`` asserts ``native`` idempotency; ``approval=True`` (or a
    ``dangerous`` effect) requires a human gate before every call. A second
    tool under a key the registry already holds, declared elsewhere, raises
    :class:`~composable_agents.errors.DuplicateToolError` right here unless
    ``replace=True``.
    """

    def decorate(f: Callable[..., Any]) -> Tool[Any, Any]:
        return _make_tool(
            f,
            name=name,
            effect=effect,
            idempotent=idempotent,
            idempotency=idempotency,
            approval=approval,
            ann=ann,
            registry=registry or DEFAULT_REGISTRY,
            replace=replace,
        )

    if fn is not None:
        return decorate(fn)
    return decorate  # type: ignore[return-value]  # the protocol's overloads type the same function


class Pure(Pipeline[I, O]):
    """A registered pure as an arrow; calling it with values runs the function."""

    __slots__ = ("_guarded", "_pdef")

    _pdef: PureDef
    _guarded: Callable[..., Any]

    @property
    def pure_name(self) -> str:
        """The registered name."""
        return self._pdef.name

    @property
    def definition(self) -> PureDef:
        """The registered definition (body and source hash)."""
        return self._pdef

    def _copy_extra(self, clone: Any) -> None:
        object.__setattr__(clone, "_pdef", self._pdef)
        object.__setattr__(clone, "_guarded", self._guarded)

    if TYPE_CHECKING:

        def __call__(self, value: I, /, **args: Any) -> O: ...

    else:

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            traced = _traced(self, args, kwargs)
            if traced is not NotImplemented:
                return traced
            return self._guarded(*args, **kwargs)


def _make_pure(fn: Callable[..., Any], name: str, registry: Registry, replace: bool = False) -> Pure[Any, Any]:
    definition = registry.register_pure(name, fn, replace=replace)
    arrow: Pure[Any, Any] = Pure(
        Arr(pure=name), in_type=definition.in_type, out_type=definition.out_type, label=name
    )
    object.__setattr__(arrow, "_pdef", definition)
    object.__setattr__(arrow, "_guarded", _guard(fn))
    return arrow


class _PureDecorator(Protocol):
    """What ``@pure("name")`` returns."""

    @overload
    def __call__(self, fn: Callable[[_X], _Y], /) -> Pure[_X, _Y]: ...
    @overload
    def __call__(self, fn: Callable[..., _Y], /) -> Pure[Any, _Y]: ...
    def __call__(self, fn: Callable[..., Any], /) -> Pure[Any, Any]: ...


@overload
def pure(name: Callable[[_X], _Y], /) -> Pure[_X, _Y]: ...
@overload
def pure(name: Callable[..., _Y], /) -> Pure[Any, _Y]: ...
@overload
def pure(
    name: str | None = None, /, *, registry: Registry | None = None, replace: bool = False
) -> _PureDecorator: ...
def pure(
    name: str | Callable[..., Any] | None = None, /, *, registry: Registry | None = None, replace: bool = False
) -> Pure[Any, Any] | _PureDecorator:
    """Register a deterministic function as the pure ``name`` (``@pure("name")``).

    The body must be a function of its input (and static keyword args) only:
    it runs inside durable workflows and is pinned by its source hash.
    ``replace=True`` replaces a pure already registered under ``name`` on
    purpose; a deployment frozen against the old body then fails its drift
    check (``PureDriftError``) until it is redeployed.
    """
    if callable(name):
        return _make_pure(name, name.__name__, registry or DEFAULT_REGISTRY)

    def decorate(fn: Callable[..., Any]) -> Pure[Any, Any]:
        return _make_pure(fn, name or fn.__name__, registry or DEFAULT_REGISTRY, replace)

    return decorate


def run_sync_tool(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a sync tool body off the event loop (a worker thread)."""
    return asyncio.to_thread(fn, *args, **kwargs)
