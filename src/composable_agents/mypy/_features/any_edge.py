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
from mypy.nodes import CallExpr, Context, Expression, MemberExpr, NameExpr, OpExpr
from mypy.plugin import CheckerPluginInterface, FunctionContext, MethodContext
from mypy.types import Type

from composable_agents.mypy import _arrows

ANY_EDGE: Final = ErrorCode(
    "any-edge",
    "A composition edge where one side's declared boundary type is Any",
    "General",
)


def _describe(expr: Expression | None) -> str:
    if isinstance(expr, NameExpr):
        return f'"{expr.name}"'
    if isinstance(expr, MemberExpr):
        return f'"{expr.name}"'
    if isinstance(expr, CallExpr) and isinstance(expr.callee, NameExpr | MemberExpr):
        return f'"{expr.callee.name}(...)"'
    if isinstance(expr, OpExpr) and expr.op == ">>":
        return _describe(expr.right)  # the step whose output leaves the composite
    return "the step"


def check_edge(
    api: CheckerPluginInterface,
    left: Type,
    right: Type,
    context: Context,
    left_expr: Expression | None,
    right_expr: Expression | None,
) -> None:
    """Report ``left >> right`` when exactly one of (left output, right input) is ``Any``."""
    left_ends = _arrows.ends(left)
    right_ends = _arrows.ends(right)
    if left_ends is None or right_ends is None:
        return
    out, inp = left_ends[1], right_ends[0]
    out_any, in_any = _arrows.is_any(out), _arrows.is_any(inp)
    if out_any == in_any or _arrows.is_checked_crossing(right):
        return
    opts = api.options
    msg = (
        f"Any edge: {_describe(left_expr)} outputs {format_type(out, opts)} into "
        f"{_describe(right_expr)} taking {format_type(inp, opts)}; nothing is checked across it "
        "(type both ends, or cross explicitly with as_type(T) / expect(arrow, T))"
    )
    api.fail(msg, context, code=ANY_EDGE)


def operator_hook(ctx: MethodContext) -> Type:
    """``a >> b``: check the edge, keep mypy's result."""
    if ctx.arg_types and ctx.arg_types[0]:
        left_expr = ctx.context.left if isinstance(ctx.context, OpExpr) else None
        right_expr = ctx.args[0][0] if ctx.args and ctx.args[0] else None
        check_edge(ctx.api, ctx.type, ctx.arg_types[0][0], ctx.context, left_expr, right_expr)
    return ctx.default_return_type


def sequence_hook(ctx: FunctionContext) -> Type:
    """``seq(a, b, c)``: check every consecutive pair, at the right-hand argument."""
    types = [t for group in ctx.arg_types for t in group]
    exprs = [e for group in ctx.args for e in group]
    for i in range(1, min(len(types), len(exprs))):
        check_edge(ctx.api, types[i - 1], types[i], exprs[i], exprs[i - 1], exprs[i])
    return ctx.default_return_type
