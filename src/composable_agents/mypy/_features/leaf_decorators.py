"""``@tool`` / ``@pure`` on a body whose types contain ``Any``.

The decorators are overloads from the narrowest body shape to the broadest:
``Callable[[X], Y]`` gives ``Tool[X, Y]`` / ``Pure[X, Y]``, and a catch-all
(``Callable[P, Y]`` -> ``RecordTool[P, Y]``, ``Callable[..., Y]`` ->
``Pure[Any, Y]``) comes last. A one-parameter body ``(x: dict[str, Any]) ->
...`` matches both; because the argument contains ``Any`` mypy calls the
match ambiguous and types the decorated function as ``Any``, so nothing it
is composed with is checked. This signature hook (applied to each overload
item) blocks the catch-all items when the body is one the runtime treats as
a one-input (or nullary) leaf, so mypy resolves to the item it would pick
for the same body without ``Any``.

mypy checks a bare decorator (``@tool``, ``@pure``) without signature hooks,
so only the called forms (``@tool(...)``, ``@pure("name")``) and direct calls
(``tool(fn)``) are repaired.
"""

from __future__ import annotations

from typing import Final

from mypy.checkexpr import has_any_type
from mypy.nodes import ARG_NAMED, ARG_NAMED_OPT, ARG_OPT, ARG_POS, ARG_STAR, ARG_STAR2
from mypy.plugin import FunctionSigContext, MethodSigContext
from mypy.types import CallableType, UninhabitedType, get_proper_type

from composable_agents.mypy import _consts
from composable_agents.mypy._cache import expression_type

__all__ = ["pure_hook", "tool_hook"]

_BLOCKED: Final = "__not_this_body__"


def _body(ctx: FunctionSigContext | MethodSigContext) -> CallableType | None:
    """The decorated function's type, when it contains ``Any`` (else ``None``: nothing to repair)."""
    if len(ctx.args) != 1 or len(ctx.args[0]) != 1:
        return None
    body = get_proper_type(expression_type(ctx.api, ctx.args[0][0]))
    if not isinstance(body, CallableType) or not has_any_type(body):
        return None
    return body


def _catch_all(sig: CallableType) -> bool:
    """Whether ``sig``'s parameter is a catch-all body (``Callable[P, Y]`` or ``Callable[..., Y]``)."""
    if len(sig.arg_types) != 1:
        return False
    formal = get_proper_type(sig.arg_types[0])
    return isinstance(formal, CallableType) and (
        formal.param_spec() is not None or formal.is_ellipsis_args
    )


def _blocked(sig: CallableType) -> CallableType:
    # A required keyword argument no call passes makes the item implausible by arity.
    return sig.copy_modified(
        arg_types=[*sig.arg_types, UninhabitedType()],
        arg_kinds=[*sig.arg_kinds, ARG_NAMED],
        arg_names=[*sig.arg_names, _BLOCKED],
    )


def _one_input_tool(body: CallableType) -> bool:
    """A body the runtime makes a ``Tool``/``KeyedTool``/``NullaryTool`` (not a record tool)."""
    if ARG_STAR in body.arg_kinds or ARG_STAR2 in body.arg_kinds:
        return False
    inputs = [
        kind
        for kind, name in zip(body.arg_kinds, body.arg_names, strict=True)
        if not (kind in (ARG_NAMED, ARG_NAMED_OPT) and name in _consts.RUNTIME_PARAMS)
    ]
    return len(inputs) == 0 or (len(inputs) == 1 and inputs[0] in (ARG_POS, ARG_OPT))


def _one_input_pure(body: CallableType) -> bool:
    """A body callable with just its first (positional) parameter."""
    if not body.arg_kinds or body.arg_kinds[0] not in (ARG_POS, ARG_OPT):
        return False
    return all(k in (ARG_OPT, ARG_STAR, ARG_STAR2, ARG_NAMED_OPT) for k in body.arg_kinds[1:])


def tool_hook(ctx: FunctionSigContext | MethodSigContext) -> CallableType:
    """``@tool`` / ``@tool(...)``: a one-input body never resolves to ``RecordTool`` (nor ``Any``)."""
    sig = ctx.default_signature
    if not _catch_all(sig):
        return sig
    body = _body(ctx)
    if body is None or not _one_input_tool(body):
        return sig
    return _blocked(sig)


def pure_hook(ctx: FunctionSigContext | MethodSigContext) -> CallableType:
    """``@pure`` / ``@pure("name")``: a one-argument body is a ``Pure[I, O]`` (not ``Any``)."""
    sig = ctx.default_signature
    if not _catch_all(sig):
        return sig
    body = _body(ctx)
    if body is None or not _one_input_pure(body):
        return sig
    return _blocked(sig)
