"""Types of operand expressions, evaluated at most once per expression.

Signature hooks run once per overload item and see only expressions; asking
mypy for an operand's type each time would re-check nested compositions once
per item at every level (exponential in the nesting depth). The cache holds
the expression object itself, so an ``id`` is never reused while cached.
"""

from __future__ import annotations

from typing import Final

from mypy.nodes import Expression
from mypy.plugin import CheckerPluginInterface
from mypy.types import Type

_MAX_ENTRIES: Final = 100_000
_TYPES: dict[int, tuple[Expression, Type]] = {}


def expression_type(api: CheckerPluginInterface, expr: Expression) -> Type:
    """``expr``'s type without a type context (cached per expression object)."""
    hit = _TYPES.get(id(expr))
    if hit is not None and hit[0] is expr:
        return hit[1]
    typ = api.get_expression_type(expr)
    if len(_TYPES) >= _MAX_ENTRIES:
        _TYPES.clear()
    _TYPES[id(expr)] = (expr, typ)
    return typ
