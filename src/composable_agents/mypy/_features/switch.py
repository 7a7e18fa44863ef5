"""``switch``/``switch_on`` with typed arms: the result is the union of the arms' outputs.

A ``cases={"urgent": page, "routine": enqueue}`` dict over ``Urgent | Routine``
has arms of different classes (``Tool[Urgent, str]``, ``Tool[Routine, int]``);
mypy joins the dict's values to ``object`` before it can solve the result type
and reports an unreadable ``dict[Any, object]`` mismatch. This signature hook
reads each arm's declared output from the dict display (and ``default=``) and
returns their union, with the ``cases`` formal widened to accept any arrows —
each arm takes the variant its case selects, checked at run time.

Rejected alternative: a typed overload per number of cases — a dict literal
cannot be typed per key.
"""

from __future__ import annotations

from mypy.nodes import DictExpr, Expression
from mypy.plugin import FunctionSigContext
from mypy.typeops import make_simplified_union
from mypy.types import AnyType, CallableType, Type, TypeOfAny

from composable_agents.mypy import _arrows
from composable_agents.mypy._cache import expression_type

__all__ = ["switch_hook"]


def _arm_outputs(ctx: FunctionSigContext, expr: Expression) -> list[Type] | None:
    ends = _arrows.ends(expression_type(ctx.api, expr))
    return None if ends is None else [ends[1]]


def switch_hook(ctx: FunctionSigContext) -> CallableType:
    """Widen ``cases``/``default`` to any arrows and return the union of the arms' declared outputs."""
    sig = ctx.default_signature
    names = sig.arg_names
    outputs: list[Type] = []
    for formal, exprs in zip(names, ctx.args, strict=False):
        for expr in exprs:
            if formal == "cases" and isinstance(expr, DictExpr):
                for _key, value in expr.items:
                    found = _arm_outputs(ctx, value)
                    if found is None:
                        return sig  # an arm that is not an arrow: plain checking reports it
                    outputs.extend(found)
            elif formal == "default":
                found = _arm_outputs(ctx, expr)
                if found is not None:
                    outputs.extend(found)
    if not outputs:
        return sig
    anything = AnyType(TypeOfAny.special_form)
    widened = [
        ctx.api.named_generic_type("typing.Mapping", [anything, anything]) if n == "cases" else t
        for n, t in zip(names, sig.arg_types, strict=True)
    ]
    widened = [anything if n == "default" else t for n, t in zip(names, widened, strict=True)]
    return sig.copy_modified(arg_types=widened, ret_type=make_simplified_union(outputs))
