"""Exact shape joins when an operand has ``Any`` type arguments.

Our operators and n-ary functions are overloads ordered most-specific-first.
When an actual argument contains ``Any`` (``call("x")`` is a
``Pipeline[Any, Any]``), mypy treats the several matching overloads as
ambiguous and returns ``Any``, silently switching off checking downstream.
This signature hook (applied to each overload item) keeps only the item whose
shape class is the join of the operands and the floor, by making every other
item implausible (it gains a required keyword argument); mypy then resolves to
that one item.

Rejected: returning ``Any``-free results from a return-type hook — mypy never
calls it on the ambiguous path, so it cannot repair the result.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

from mypy.checkexpr import has_any_type
from mypy.nodes import ARG_NAMED, ARG_POS, CallExpr, Expression
from mypy.plugin import CheckerPluginInterface, FunctionSigContext, MethodSigContext
from mypy.types import CallableType, Type, UninhabitedType

from composable_agents.mypy import _arrows
from composable_agents.mypy._cache import expression_type

__all__ = ["function_signature_hook", "operator_signature_hook"]

_BLOCKED: Final = "__not_the_join__"


def _actual_types(api: CheckerPluginInterface, args: Sequence[Sequence[Expression]]) -> list[Type]:
    return [expression_type(api, e) for group in args for e in group]


def _restrict(sig: CallableType, actual: list[Type], base_rank: int, floor: int) -> CallableType:
    """``sig`` unchanged if its arrow formals have the join's class (or no operand has ``Any``), else blocked."""
    if not any(has_any_type(t) for t in actual):
        return sig
    rank = max(base_rank, floor)
    for t in actual:
        inst = _arrows.instance_of(t)
        if inst is None:
            if _arrows.is_any(t):
                return sig  # an Any-typed operand: nothing to join
            continue
        rank = max(rank, _arrows.shape_rank(inst.type))
    formal_ranks = {
        _arrows.shape_rank(inst.type)
        for inst in (_arrows.instance_of(a) for a in sig.arg_types)
        if inst is not None
    }
    if not formal_ranks or formal_ranks == {rank}:
        return sig
    # A required keyword argument no call passes makes the item implausible by
    # arity, so mypy never even tries it (trying every item re-checks nested
    # operands once per item and level: exponential in the nesting depth).
    return sig.copy_modified(
        arg_types=[*sig.arg_types, UninhabitedType()],
        arg_kinds=[*sig.arg_kinds, ARG_NAMED],
        arg_names=[*sig.arg_names, _BLOCKED],
    )


def operator_signature_hook(floor: int) -> Callable[[MethodSigContext], CallableType]:
    """A method-signature hook for an operator with the given floor rank."""

    def hook(ctx: MethodSigContext) -> CallableType:
        left = _arrows.instance_of(ctx.type)
        if left is None:
            return ctx.default_signature
        actual = _actual_types(ctx.api, ctx.args)
        return _restrict(ctx.default_signature, actual, _arrows.shape_rank(left.type), floor)

    return hook


def function_signature_hook(
    floor: int, max_arity: int | None = None, *, builders_only: bool = False
) -> Callable[[FunctionSigContext], CallableType]:
    """A function-signature hook for an n-ary combinator with the given floor rank.

    A call with more than ``max_arity`` arguments can only match the
    variadic fallback, which is then left alone (blocking it would leave no
    item at all). With ``builders_only``, items taking more than one
    positional argument (the ``@flow``-body form ``each(body, items)``) are
    left to plain overload resolution.
    """

    def hook(ctx: FunctionSigContext) -> CallableType:
        sig = ctx.default_signature
        if builders_only and sum(k == ARG_POS for k in sig.arg_kinds) > 1:
            return sig
        if max_arity is not None and len(_positional(ctx)) > max_arity:
            return sig
        actual = _actual_types(ctx.api, ctx.args)
        return _restrict(sig, actual, 0, floor)

    return hook


def _positional(ctx: FunctionSigContext) -> list[Expression]:
    """The call's positional argument expressions (whatever formals they map to)."""
    call = ctx.context
    if isinstance(call, CallExpr):
        return [a for a, k in zip(call.args, call.arg_kinds, strict=True) if k == ARG_POS]
    return [e for group in ctx.args for e in group]
