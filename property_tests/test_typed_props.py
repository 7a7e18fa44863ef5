"""Laws of the typed core, declared once and checked on generated typed compositions.

- ``>>`` is associative and ``ident()`` is its unit, byte-for-byte at the frozen IR.
- ``&`` is associative up to reassociation of the result (IR and values).
- ``|`` routes by the left arm's input schema.
- The static class named by the join table (what the operator and ``typed.*``
  overloads give mypy) equals the run-time ``surface_shape`` of every
  generated composition.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypedDict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from composable_agents import deploy, ident, pure, tool, typed
from composable_agents.authoring.arrow import SHAPE_CLASSES, SHAPE_OF_CLASS, Arrow
from composable_agents.compiler.freeze import freeze
from composable_agents.core.canonical import canonical_bytes
from composable_agents.core.ir import Par

# -- typed leaves (int -> int, so any composition of them type-checks) ---------


@tool(effect="read", name="tp_inc")
def _inc(x: int) -> int:
    return x + 1


@tool(effect="read", name="tp_triple")
def _triple(x: int) -> int:
    return 3 * x


@pure("tp.neg")
def _neg(x: int) -> int:
    return -x


@pure("tp.add_pair")
def _add_pair(pair: tuple[int, int]) -> int:
    return pair[0] + pair[1]


@pure("tp.add_three")
def _add_three(t: tuple[int, int, int]) -> int:
    return t[0] + t[1] + t[2]


@pure("tp.spread")
def _spread(x: int) -> list[int]:
    return [x, x + 1]


@pure("tp.total")
def _total(xs: list[int]) -> int:
    return sum(xs)


LEAVES: tuple[Arrow[int, int], ...] = (_inc, _triple, _neg)


@dataclass(frozen=True)
class Typed:
    """A generated composition with the rank of the shape class its static type names."""

    arrow: Arrow[int, int]
    rank: int
    fn: Callable[[int], int]


def _leaf(i: int) -> Typed:
    fns: tuple[Callable[[int], int], ...] = (lambda x: x + 1, lambda x: 3 * x, lambda x: -x)
    return Typed(LEAVES[i], 0, fns[i])


# The join table: each form's static class is max(floor, parts).
def _seq(a: Typed, b: Typed) -> Typed:
    return Typed(a.arrow >> b.arrow, max(0, a.rank, b.rank), lambda x: b.fn(a.fn(x)))


def _typed_seq(a: Typed, b: Typed, c: Typed) -> Typed:
    return Typed(
        typed.seq(a.arrow, b.arrow, c.arrow),
        max(0, a.rank, b.rank, c.rank),
        lambda x: c.fn(b.fn(a.fn(x))),
    )


def _fan(a: Typed, b: Typed) -> Typed:
    return Typed(
        (a.arrow & b.arrow) >> _add_pair, max(1, a.rank, b.rank), lambda x: a.fn(x) + b.fn(x)
    )


def _typed_fanout(a: Typed, b: Typed, c: Typed) -> Typed:
    return Typed(
        typed.fanout(a.arrow, b.arrow, c.arrow) >> _add_three,
        max(1, a.rank, b.rank, c.rank),
        lambda x: a.fn(x) + b.fn(x) + c.fn(x),
    )


def _choice(a: Typed, b: Typed) -> Typed:
    # every int matches the left arm's schema, so the left arm always runs
    return Typed(a.arrow | b.arrow, max(2, a.rank, b.rank), a.fn)


def _each(a: Typed) -> Typed:
    return Typed(
        _spread >> typed.each(a.arrow, reducer=_total),
        max(1, a.rank),
        lambda x: a.fn(x) + a.fn(x + 1),
    )


def compositions(max_leaves: int = 6) -> st.SearchStrategy[Typed]:
    leaves = st.integers(0, len(LEAVES) - 1).map(_leaf)
    return st.recursive(
        leaves,
        lambda kids: st.one_of(
            st.builds(_seq, kids, kids),
            st.builds(_typed_seq, kids, kids, kids),
            st.builds(_fan, kids, kids),
            st.builds(_typed_fanout, kids, kids, kids),
            st.builds(_choice, kids, kids),
            st.builds(_each, kids),
        ),
        max_leaves=max_leaves,
    )


def frozen_bytes(arrow: Arrow[Any, Any]) -> bytes:
    return canonical_bytes(freeze(arrow.to_ir()).node.to_json())


# -- laws ----------------------------------------------------------------------


@dataclass(frozen=True)
class Law:
    name: str
    check: Callable[..., None]
    arity: int


def _assoc(a: Typed, b: Typed, c: Typed) -> None:
    left = (a.arrow >> b.arrow) >> c.arrow
    right = a.arrow >> (b.arrow >> c.arrow)
    assert frozen_bytes(left) == frozen_bytes(right)
    assert left.digest == right.digest


def _identity(a: Typed) -> None:
    base = frozen_bytes(a.arrow)
    assert frozen_bytes(ident() >> a.arrow) == base
    assert frozen_bytes(a.arrow >> ident()) == base


def _flat_branches(node: Any) -> list[bytes]:
    if isinstance(node, Par) and len(node.branches) == 2:
        return [b for kid in node.branches for b in _flat_branches(kid)]
    return [canonical_bytes(node.to_json())]


def _fan_assoc(a: Typed, b: Typed, c: Typed) -> None:
    left = (a.arrow & b.arrow) & c.arrow
    right = a.arrow & (b.arrow & c.arrow)
    assert _flat_branches(left.to_ir()) == _flat_branches(right.to_ir())
    assert type(left) is type(right)


def _static_is_runtime(a: Typed) -> None:
    expected = list(SHAPE_CLASSES)[a.rank]
    assert a.arrow.surface_shape is expected
    shape_class = next(c for c in type(a.arrow).__mro__ if c in SHAPE_OF_CLASS)
    assert shape_class is SHAPE_CLASSES[expected]


LAWS: tuple[Law, ...] = (
    Law(">> is associative", _assoc, 3),
    Law("ident is the unit of >>", _identity, 1),
    Law("& is associative up to reassociation", _fan_assoc, 3),
    Law("static class == runtime surface_shape", _static_is_runtime, 1),
)


def _law_test(law: Law) -> Callable[[], None]:
    @settings(max_examples=60)
    @given(st.tuples(*[compositions()] * law.arity))
    def run(parts: tuple[Typed, ...]) -> None:
        law.check(*parts)

    return run


@pytest.mark.parametrize("law", LAWS, ids=[law.name for law in LAWS])
def test_law(law: Law) -> None:
    _law_test(law)()


# -- behaviour -----------------------------------------------------------------


@settings(max_examples=25)
@given(compositions(max_leaves=4), st.integers(-50, 50))
def test_compositions_compute_what_their_parts_do(a: Typed, x: int) -> None:
    assert deploy(a.arrow).dry_run(x).value == a.fn(x)


@settings(max_examples=20)
@given(
    compositions(max_leaves=3),
    compositions(max_leaves=3),
    compositions(max_leaves=3),
    st.integers(-9, 9),
)
def test_fanout_values_agree_up_to_reassociation(a: Typed, b: Typed, c: Typed, x: int) -> None:
    (p, q), r = deploy((a.arrow & b.arrow) & c.arrow).dry_run(x).value
    p2, (q2, r2) = deploy(a.arrow & (b.arrow & c.arrow)).dry_run(x).value
    assert (p, q, r) == (p2, q2, r2) == (a.fn(x), b.fn(x), c.fn(x))


class Ping(TypedDict):
    kind: Literal["ping"]
    n: int


class Pong(TypedDict):
    kind: Literal["pong"]
    n: int


@tool(effect="read", name="tp_on_ping")
def _on_ping(v: Ping) -> str:
    return f"ping {v['n']}"


@tool(effect="read", name="tp_on_pong")
def _on_pong(v: Pong) -> str:
    return f"pong {v['n']}"


_ROUTER = deploy(_on_ping | _on_pong)


@settings(max_examples=40)
@given(st.sampled_from(["ping", "pong"]), st.integers(-1000, 1000))
def test_choice_routes_by_schema(kind: str, n: int) -> None:
    value: Any = {"kind": kind, "n": n}
    expected = _on_ping(value) if kind == "ping" else _on_pong(value)
    assert _ROUTER.dry_run(value).value == expected


# -- static == runtime, asked of mypy itself --------------------------------------

_MYPY_LEAVES = """
from composable_agents import pure, tool, typed


@tool(effect="read", name="tp_inc")
def inc(x: int) -> int:
    return x + 1


@pure("tp.neg")
def neg(x: int) -> int:
    return -x


@pure("tp.add_pair")
def add_pair(pair: tuple[int, int]) -> int:
    return pair[0] + pair[1]


@pure("tp.add_three")
def add_three(t: tuple[int, int, int]) -> int:
    return t[0] + t[1] + t[2]


@pure("tp.spread")
def spread(x: int) -> list[int]:
    return [x, x + 1]


@pure("tp.total")
def total(xs: list[int]) -> int:
    return sum(xs)
"""

_RUNTIME_NS: dict[str, Any] = {
    "inc": _inc,
    "neg": _neg,
    "add_pair": _add_pair,
    "add_three": _add_three,
    "spread": _spread,
    "total": _total,
    "typed": typed,
}


def source_exprs(max_leaves: int = 6) -> st.SearchStrategy[str]:
    """Source text of int -> int compositions (the same grammar as ``compositions``)."""
    return st.recursive(
        st.sampled_from(["inc", "neg"]),
        lambda kids: st.one_of(
            st.builds("({} >> {})".format, kids, kids),
            st.builds("typed.seq({}, {}, {})".format, kids, kids, kids),
            st.builds("(({} & {}) >> add_pair)".format, kids, kids),
            st.builds("(typed.fanout({}, {}, {}) >> add_three)".format, kids, kids, kids),
            st.builds("({} | {})".format, kids, kids),
            st.builds("(spread >> typed.each({}, reducer=total))".format, kids),
        ),
        max_leaves=max_leaves,
    )


_REVEALED = re.compile(r':(\d+): note: Revealed type is "(composable_agents\.[\w.]+)\[')


def _shape_class_named(fullname: str) -> type[Any]:
    """The shape class in the MRO of the class mypy revealed (``Tool`` -> ``Pipeline``)."""
    module, _, name = fullname.rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    return next(c for c in cls.__mro__ if c in SHAPE_OF_CLASS)


@settings(max_examples=2)
@given(st.lists(source_exprs(), min_size=40, max_size=40))
def test_mypy_static_class_is_the_runtime_shape(exprs: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        module = Path(tmp) / "gen_static_shapes.py"
        body = "\n".join(f"reveal_type({e})" for e in exprs)
        header = _MYPY_LEAVES.strip() + "\n\n"
        module.write_text(header + body + "\n")
        first_line = header.count("\n") + 1
        proc = subprocess.run(
            [sys.executable, "-m", "mypy", "--config-file", _plugin_config(Path(tmp)), str(module)],
            capture_output=True,
            text=True,
            check=False,
        )
    revealed = {int(m[1]): m[2] for m in _REVEALED.finditer(proc.stdout)}
    assert len(revealed) == len(exprs), proc.stdout + proc.stderr
    for i, expr in enumerate(exprs):
        arrow = eval(expr, dict(_RUNTIME_NS))
        static_class = _shape_class_named(revealed[first_line + i])
        assert static_class is SHAPE_CLASSES[arrow.surface_shape], expr


def _plugin_config(tmp: Path) -> str:
    config = tmp / "mypy.ini"
    config.write_text("[mypy]\nstrict = True\nplugins = composable_agents.mypy\n")
    return str(config)
