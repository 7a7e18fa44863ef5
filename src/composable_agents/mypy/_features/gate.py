"""Human gates as pass-throughs: ``x >> human_gate(...)`` keeps ``x``'s output type.

``human_gate(...)`` is a ``HumanGate`` (``Pipeline[Any, Any]`` in its base, so
mypy's own answer for ``x >> gate`` is ``Pipeline[I, Any]``). Statically a gate
is ``Pipeline[T, T]`` for whatever ``T`` reaches it, so this return-type hook
rewrites the result of ``>>`` when one operand is a gate:

* ``x >> gate``: the join class ``[I, O]`` of ``x`` (with ``on_reject="value"``:
  ``[I, O | GateDecision[O]]``);
* ``gate >> y``: the join class ``[I_y, O_y]`` (with ``on_reject="value"`` the
  input of ``y`` is not known to be the gate's, so mypy's answer stands).

Neither edge is an ``any-edge``: the gate declares no type of its own.
"""

from __future__ import annotations

from collections.abc import Callable

from mypy import errorcodes as codes
from mypy.expandtype import expand_type_by_instance
from mypy.messages import format_type
from mypy.nodes import Context, Expression, SymbolTableNode, TypeInfo
from mypy.plugin import CheckerPluginInterface, MethodContext
from mypy.subtypes import is_subtype
from mypy.types import (
    AnyType,
    Instance,
    Type,
    TypedDictType,
    TypeOfAny,
    UnionType,
    get_proper_type,
)

from composable_agents.mypy import _arrows, _consts

__all__ = ["check_after_gate", "decision", "gate_kind", "involves_gate", "passed_through", "right_operand", "rshift_result"]

GATES = frozenset({_consts.HUMAN_GATE, _consts.DECISION_GATE})


def gate_kind(typ: Type | None) -> str | None:
    """The gate marker class ``typ`` is (or derives from), else ``None``."""
    if typ is None:
        return None
    inst = _arrows.instance_of(typ)
    if inst is None:
        return None
    for base in inst.type.mro:
        if base.fullname in GATES:
            return base.fullname
    return None


Lookup = Callable[[str], SymbolTableNode | None]
"""The plugin's ``lookup_fully_qualified`` (the checker's own lookup asserts on some names)."""


def decision(lookup: Lookup, value: Type) -> Type:
    """``GateDecision[value]`` as a TypedDict type (``Any`` when the class cannot be found)."""
    sym = lookup(_consts.GATE_DECISION)
    if sym is None or not isinstance(sym.node, TypeInfo) or sym.node.typeddict_type is None:
        return AnyType(TypeOfAny.from_error)
    inst = Instance(sym.node, [value])
    expanded = get_proper_type(expand_type_by_instance(sym.node.typeddict_type, inst))
    if not isinstance(expanded, TypedDictType):
        return AnyType(TypeOfAny.from_error)
    return expanded.copy_modified(fallback=inst)  # named "GateDecision[...]" in messages


def _with_ends(default: Type, inp: Type, out: Type) -> Type | None:
    proper = get_proper_type(default)
    if not isinstance(proper, Instance) or _arrows.shape_rank(proper.type) < 0 or len(proper.args) != 2:
        return None
    return proper.copy_modified(args=[inp, out])


def right_operand(ctx: MethodContext) -> tuple[Expression | None, Type | None]:
    """The right operand of ``a >> b`` and its type."""
    expr = ctx.args[0][0] if ctx.args and ctx.args[0] else None
    typ = ctx.arg_types[0][0] if ctx.arg_types and ctx.arg_types[0] else None
    return expr, typ


def involves_gate(ctx: MethodContext) -> bool:
    """Whether either operand of ``a >> b`` is a gate."""
    return gate_kind(ctx.type) is not None or gate_kind(right_operand(ctx)[1]) is not None


def rshift_result(ctx: MethodContext, right_ends: tuple[Type, Type] | None, lookup: Lookup) -> Type:
    """The type of ``a >> b`` when ``a`` or ``b`` is a gate (mypy's own answer otherwise)."""
    _, right = right_operand(ctx)
    left_kind, right_kind = gate_kind(ctx.type), gate_kind(right)
    if right_kind is not None and left_kind is None:
        ends = _arrows.ends(ctx.type)
        if ends is None:
            return ctx.default_return_type
        inp, out = ends
        if right_kind == _consts.DECISION_GATE:
            out = UnionType.make_union([out, decision(lookup, out)])
        return _with_ends(ctx.default_return_type, inp, out) or ctx.default_return_type
    if left_kind == _consts.HUMAN_GATE and right_kind is None and right_ends is not None:
        return _with_ends(ctx.default_return_type, *right_ends) or ctx.default_return_type
    return ctx.default_return_type


def passed_through(kind: str, value: Type, lookup: Lookup) -> tuple[Type, Type]:
    """A gate's ends when ``value`` reaches it: ``(T, T)``, or ``(T, T | GateDecision[T])``."""
    if kind == _consts.DECISION_GATE:
        return value, UnionType.make_union([value, decision(lookup, value)])
    return value, value


def check_after_gate(
    api: CheckerPluginInterface, value: Type, right_ends: tuple[Type, Type] | None, where: Context
) -> None:
    """Report a step after a gate (in ``seq``) whose declared input does not accept what the gate passes on."""
    if right_ends is None or _arrows.is_untyped(value) or _arrows.is_untyped(right_ends[0]):
        return
    if is_subtype(value, right_ends[0]):
        return
    opts = api.options
    api.fail(
        f"Incompatible step after human_gate: the gate yields {format_type(value, opts)}, "
        f"the next step takes {format_type(right_ends[0], opts)}",
        where,
        code=codes.ARG_TYPE,
    )
