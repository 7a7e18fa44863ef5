"""Reading arrow types: the shape rank of a class and an arrow's declared ends."""

from __future__ import annotations

from typing import Final

from mypy.maptype import map_instance_to_supertype
from mypy.nodes import TypeInfo
from mypy.types import AnyType, Instance, TupleType, Type, TypeOfAny, get_proper_type

from composable_agents.mypy import _consts

_UNKNOWN: Final = -1


def arrow_info(info: TypeInfo) -> TypeInfo | None:
    """The ``Arrow`` base of ``info``, or ``None`` when ``info`` is not an arrow class."""
    for base in info.mro:
        if base.fullname == _consts.ARROW:
            return base
    return None


def shape_rank(info: TypeInfo) -> int:
    """The rank of the most specific shape class in ``info``'s MRO (``-1``: not an arrow)."""
    for base in info.mro:
        if base.fullname in _consts.SHAPE_CLASSES:
            return _consts.SHAPE_CLASSES.index(base.fullname)
    return _UNKNOWN


def instance_of(typ: Type) -> Instance | None:
    """``typ`` as an arrow ``Instance`` (``None`` for anything else)."""
    proper = get_proper_type(typ)
    if isinstance(proper, Instance) and arrow_info(proper.type) is not None:
        return proper
    return None


def ends(typ: Type) -> tuple[Type, Type] | None:
    """The declared ``(I, O)`` of an arrow type, read through its ``Arrow`` base."""
    inst = instance_of(typ)
    if inst is None:
        return None
    base = arrow_info(inst.type)
    assert base is not None
    mapped = map_instance_to_supertype(inst, base)
    if len(mapped.args) != 2:
        return None
    return mapped.args[0], mapped.args[1]


def is_any(typ: Type) -> bool:
    """Whether ``typ`` is ``Any`` itself (not merely containing it); special forms do not count."""
    proper = get_proper_type(typ)
    return isinstance(proper, AnyType) and proper.type_of_any != TypeOfAny.special_form


def is_untyped(typ: Type) -> bool:
    """``Any``, or a list/tuple/... built only of ``Any`` (``each`` or ``par`` of untyped steps).

    Such a side declares nothing to check: an edge between it and an ``Any``
    side is an edge between two untyped steps, not an any-edge.
    """
    proper = get_proper_type(typ)
    if is_any(proper):
        return True
    if isinstance(proper, TupleType):
        return bool(proper.items) and all(is_untyped(t) for t in proper.items)
    if isinstance(proper, Instance) and proper.args:
        return all(is_untyped(t) for t in proper.args)
    return False


def is_checked_crossing(typ: Type) -> bool:
    """Whether ``typ`` is an ``as_type`` step (its ``Any`` input is checked at run time)."""
    inst = instance_of(typ)
    return inst is not None and any(b.fullname == _consts.AS_TYPE for b in inst.type.mro)
