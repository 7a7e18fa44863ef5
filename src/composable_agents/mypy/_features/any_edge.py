"""The ``any-edge`` error: a composition edge where exactly one side's declared type is ``Any``.

Reported at the operator's line for ``a >> b`` (and at each argument of an
n-ary ``seq``), reading the operands' declared boundary types: the left
output and the right input, mapped through the ``Arrow`` base class. Edges
into ``as_type`` steps are explicit crossings; two ``Any`` sides (untyped
kernel steps) stay silent.
"""

from __future__ import annotations

from typing import Final

from mypy.errorcodes import ErrorCode
from mypy.messages import format_type
from mypy.nodes import ARG_POS, CallExpr, Context, Expression, MemberExpr, NameExpr, OpExpr, RefExpr
from mypy.plugin import CheckerPluginInterface, FunctionContext, MethodContext
from mypy.subtypes import is_subtype
from mypy.types import AnyType, Instance, Type, TypeOfAny, get_proper_type

from composable_agents.mypy import _arrows, _consts
from composable_agents.mypy._cache import expression_type
from composable_agents.mypy._features import gate

__all__ = ["check_edge", "check_mismatch", "declared_ends", "operator_hook", "sequence_hook"]

ANY_EDGE: Final = ErrorCode(
    "any-edge",
    "A composition edge where one side's declared boundary type is Any",
    "General",
)

EDGE_MISMATCH: Final = ErrorCode(
    "edge-mismatch",
    "A composition edge whose left output type is not the right input type",
    "General",
)


def _describe(expr: Expression | None) -> str:
    if isinstance(expr, NameExpr):
        return f'"{expr.name}"'
    if isinstance(expr, MemberExpr):
        return f'"{expr.name}"'
    if isinstance(expr, CallExpr) and isinstance(expr.callee, NameExpr | MemberExpr):
        return f'"{expr.callee.name}(...)"'
    if isinstance(expr, OpExpr):
        if expr.op == ">>":
            return _describe(expr.right)  # the step whose output leaves the composite
        return f"{_describe(expr.left)} {expr.op} {_describe(expr.right)}".replace('"', "")
    return "the step"


def _think_ends(api: CheckerPluginInterface, expr: Expression | None) -> tuple[Type, Type] | None:
    """The declared ends of ``think(r)``, read from ``r``'s type.

    mypy infers a ``think(r)`` operand in the context of the operator's
    formal, which can pin its type variables to the *left* side's output;
    the reasoner's own type says what the step really declares.
    """
    if not (
        isinstance(expr, CallExpr)
        and isinstance(expr.callee, RefExpr)
        and expr.callee.fullname == _consts.THINK
        and len(expr.args) == 1
        and expr.arg_kinds[0] == ARG_POS
    ):
        return None
    reasoner = get_proper_type(expression_type(api, expr.args[0]))
    if not isinstance(reasoner, Instance) or reasoner.type.fullname != _consts.REASONER:
        return None
    prompt, reply = reasoner.args
    proper = get_proper_type(prompt)
    if isinstance(proper, Instance) and proper.type.fullname == _consts.NO_PROMPT:
        return AnyType(TypeOfAny.explicit), reply
    return prompt, reply


def declared_ends(
    api: CheckerPluginInterface, expr: Expression | None, inferred: Type | None
) -> tuple[Type, Type] | None:
    """An operand's declared ``(I, O)``: from ``think``'s reasoner, else its type without context."""
    ends = _think_ends(api, expr)
    if ends is not None:
        return ends
    if inferred is None or (expr is not None and not isinstance(expr, NameExpr | MemberExpr)):
        if expr is None:
            return None
        inferred = expression_type(api, expr)
    return _arrows.ends(inferred)


def check_edge(
    api: CheckerPluginInterface,
    left_ends: tuple[Type, Type] | None,
    right: Type | None,
    right_ends: tuple[Type, Type] | None,
    context: Context,
    left_expr: Expression | None,
    right_expr: Expression | None,
) -> None:
    """Report ``left >> right`` when exactly one of (left output, right input) is ``Any``."""
    if left_ends is None or right_ends is None:
        return
    if right is not None and _arrows.is_checked_crossing(right):
        return
    out, inp = left_ends[1], right_ends[0]
    if _arrows.is_untyped(out) == _arrows.is_untyped(inp):
        return
    opts = api.options
    msg = (
        f"Any edge: {_describe(left_expr)} outputs {format_type(out, opts)} into "
        f"{_describe(right_expr)} taking {format_type(inp, opts)}; nothing is checked across it "
        "(type both ends, or cross explicitly with as_type(T) / expect(arrow, T))"
    )
    _report(api, msg, context)


def _report(api: CheckerPluginInterface, msg: str, context: Context) -> None:
    """Record the error even while mypy tries overloads speculatively.

    mypy checks an operand once per candidate overload inside an error filter
    and treats any error there as "this overload does not match". An any-edge
    is a lint on the operands' *declared* types, not a type mismatch: it must
    neither make every candidate fail (which derails the join and re-checks
    nested operands exponentially) nor be lost with a discarded trial. So it
    bypasses the filters; duplicates of one edge are merged by mypy.
    """
    watchers = getattr(getattr(api.msg, "errors", None), "_watchers", None)
    if not isinstance(watchers, list) or not watchers:
        api.fail(msg, context, code=ANY_EDGE)
        return
    saved = list(watchers)
    watchers.clear()
    try:
        api.fail(msg, context, code=ANY_EDGE)
    finally:
        watchers[:] = saved


def operator_hook(ctx: MethodContext, lookup: gate.Lookup) -> Type:
    """``a >> b``: check the edge, keep mypy's result (a gate operand: pass its neighbour's type through)."""
    if gate.involves_gate(ctx):
        right_expr, right = gate.right_operand(ctx)
        return gate.rshift_result(ctx, declared_ends(ctx.api, right_expr, right), lookup)
    if ctx.arg_types and ctx.arg_types[0]:
        left_expr = ctx.context.left if isinstance(ctx.context, OpExpr) else None
        right_expr = ctx.args[0][0] if ctx.args and ctx.args[0] else None
        right = ctx.arg_types[0][0]
        # The left operand's type is already context-free (it is the receiver).
        left_ends = _think_ends(ctx.api, left_expr) or _arrows.ends(ctx.type)
        right_ends = declared_ends(ctx.api, right_expr, right)
        # At the right operand: in a chain split over lines that is the line
        # holding ``>> step``, while the OpExpr's own line is where the chain starts.
        where = right_expr if right_expr is not None else ctx.context
        check_edge(ctx.api, left_ends, right, right_ends, where, left_expr, right_expr)
    return ctx.default_return_type


def sequence_hook(ctx: FunctionContext, lookup: gate.Lookup) -> Type:
    """``seq(a, b, c)``: check every consecutive pair, at the right-hand argument.

    A gate argument passes the previous step's output through, so the step
    after it is checked against that output (mypy's overloads see the gate's
    ``Any`` and cannot).
    """
    types = [t for group in ctx.arg_types for t in group]
    exprs = [e for group in ctx.args for e in group]
    if len(types) != len(exprs):
        return ctx.default_return_type
    ends = [declared_ends(ctx.api, e, t) for e, t in zip(exprs, types, strict=True)]
    kinds = [gate.gate_kind(t) for t in types]
    for i in range(1, len(exprs)):
        prev = ends[i - 1]
        kind = kinds[i]
        if kind is not None:
            # Never an any-edge into a gate; the next edge starts from what flowed in.
            ends[i] = gate.passed_through(kind, prev[1], lookup) if prev is not None else None
            continue
        if kinds[i - 1] is not None:
            if prev is None:
                continue
            gate.check_after_gate(ctx.api, prev[1], ends[i], exprs[i])
        check_edge(ctx.api, prev, types[i], ends[i], exprs[i], exprs[i - 1], exprs[i])
        if len(exprs) > _consts.MAX_ARITY[_consts.TYPED_SEQ]:
            # Past the typed overloads' arity only the variadic item matches, and it takes
            # Arrow[Any, Any]: check each edge here as `>>` would (SPEC §22.10).
            check_mismatch(ctx.api, prev, ends[i], exprs[i - 1], exprs[i])
    return ctx.default_return_type


def check_mismatch(
    api: CheckerPluginInterface,
    left_ends: tuple[Type, Type] | None,
    right_ends: tuple[Type, Type] | None,
    left_expr: Expression,
    right_expr: Expression,
) -> None:
    """Report a typed edge whose left output is not a subtype of the right input."""
    if left_ends is None or right_ends is None:
        return
    out, inp = left_ends[1], right_ends[0]
    if _arrows.is_untyped(out) or _arrows.is_untyped(inp) or is_subtype(out, inp):
        return
    opts = api.options
    msg = (
        f"Edge mismatch: {_describe(left_expr)} outputs {format_type(out, opts)} but {_describe(right_expr)} "
        f"takes {format_type(inp, opts)}"
    )
    api.fail(msg, right_expr, code=EDGE_MISMATCH)
