"""Hypothesis strategies (and a seeded plain-``random`` twin) for IR trees and kernel arrows.

Reusable by any property test::

    from strategies import ir_nodes, kernel_arrows, runnable_nodes, json_values

* :func:`json_values` — strict JSON values (finite floats, str keys).
* :func:`ir_nodes` — arbitrary IR trees over every op, with annotations,
  contexts, names, static args and every ``par`` merge policy. Not runnable
  (names are made up); for codec, hashing and shape laws.
* :func:`kernel_arrows` — the same through the kernel functions, as ``Arrow``.
* :func:`runnable_nodes` — int → int trees of ``seq``/``par``/``each``/``alt``/
  ``iter_up_to`` over the registered ``prop.*`` pures and the faked async
  tools in :data:`RUNNABLE_TOOLS` (see :func:`runnable_env_tools`).
* :func:`random_node` — a tree from a ``random.Random``: the same seed gives
  the same tree in any process (used for cross-process hash stability).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from composable_agents.authoring.arrow import Arrow
from composable_agents.authoring.kernel import (
    alt,
    app,
    arr,
    call,
    each,
    ident,
    iter_up_to,
    par,
    seq,
    stage,
    sub,
    think,
)
from composable_agents.core.ir import (
    Alt,
    Ann,
    App,
    Arr,
    CallStep,
    ContextPolicy,
    Contract,
    Each,
    EvalPlan,
    Ident,
    IterUpTo,
    Loop,
    Node,
    Par,
    Prim,
    PureRef,
    Seq,
    SubStep,
    ThinkStep,
)
from composable_agents.core.kinds import ContextScope, Effect, Merge, Shape
from composable_agents.core.pures import register_pure

__all__ = [
    "RUNNABLE_TOOLS",
    "anns",
    "ctxs",
    "ir_nodes",
    "json_values",
    "kernel_arrows",
    "leaf_nodes",
    "names",
    "pure_refs",
    "random_node",
    "runnable_env_tools",
    "runnable_nodes",
]

# -- JSON values ----------------------------------------------------------------

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False, width=64)
    | st.text(max_size=8)
)


def json_values(max_leaves: int = 8) -> st.SearchStrategy[Any]:
    """Strict JSON values: dicts with ``str`` keys, lists, finite numbers, strings, bools, null."""
    return st.recursive(
        _scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
        max_leaves=max_leaves,
    )


def names(prefix: str = "") -> st.SearchStrategy[str]:
    """Short non-empty identifiers (a small alphabet so equal names collide often)."""
    return st.text("abcxyz_.é", min_size=1, max_size=6).map(lambda s: prefix + s)


def pure_refs() -> st.SearchStrategy[PureRef]:
    """A pure name with optional static args."""
    args = st.none() | st.dictionaries(st.text("abk", min_size=1, max_size=3), json_values(4), max_size=2)
    return st.builds(PureRef, names("p."), args)


_positive_floats = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)


def anns() -> st.SearchStrategy[Ann | None]:
    """``None`` or an ``Ann`` with any subset of its fields set."""
    opt = st.none
    return st.none() | st.builds(
        Ann,
        cost_usd=opt() | _positive_floats,
        timeout_s=opt() | _positive_floats,
        max_attempts=opt() | st.integers(1, 10),
        retry_interval_s=opt() | _positive_floats,
        backoff_rate=opt() | _positive_floats,
        cache=opt() | st.booleans() | st.text(max_size=4),
        effect=opt() | st.sampled_from(list(Effect)),
    )


def ctxs() -> st.SearchStrategy[ContextPolicy | None]:
    """``None`` or a context policy."""
    return st.none() | st.builds(
        ContextPolicy, scope=st.sampled_from(list(ContextScope)), max_tokens=st.none() | st.integers(1, 10_000)
    )


def _common() -> st.SearchStrategy[dict[str, Any]]:
    # Mostly plain nodes, so seq flattening / ident elimination happen often.
    decorated = st.fixed_dictionaries({}, optional={"ann": anns(), "ctx": ctxs(), "name": names("n.")})
    return st.one_of(st.just({}), st.just({}), decorated)


def _with(common: dict[str, Any], build: Callable[..., Node], **fields: Any) -> Node:
    return build(**fields, **common)


def _steps() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.builds(CallStep, names("t"), st.none() | st.just("sha256:" + "ab" * 32), st.none() | st.just({"s": 1})),
        st.builds(ThinkStep, names("r")),
        st.builds(SubStep, names("f."), st.builds(Contract, st.sampled_from(list(Shape)))),
    )


def leaf_nodes() -> st.SearchStrategy[Node]:
    """Leaves of every kind: prim (call/think/sub), ident, arr, eval_plan, app."""
    return st.one_of(
        st.builds(lambda c, s: Prim(step=s, **c), _common(), _steps()),
        st.builds(lambda c: Ident(**c), _common()),
        st.builds(lambda c, p: Arr(pure=p.name, args=p.args, **c), _common(), pure_refs()),
        st.builds(lambda c, n: EvalPlan(planner=n, **c), _common(), names("pl")),
        st.builds(
            lambda c, n, t, f, b, m: App(controller=n, tools=t, subflows=f, budget=b, max_rounds=m, **c),
            _common(),
            names("ctl"),
            st.lists(names("t"), max_size=2).map(tuple),
            st.lists(names("f."), max_size=2).map(tuple),
            st.none() | st.just({"cost": 0.5}),
            st.none() | st.integers(1, 9),
        ),
    )


def _composites(kids: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    many = st.lists(kids, min_size=1, max_size=4).map(tuple)
    par_opts = st.one_of(
        st.fixed_dictionaries({"merge": st.just(Merge.ALL)}),
        st.fixed_dictionaries({"merge": st.just(Merge.RACE)}),
        st.fixed_dictionaries({"merge": st.just(Merge.HEDGE), "hedge_ms": st.integers(0, 500)}),
        st.fixed_dictionaries({"merge": st.just(Merge.QUORUM), "k": st.integers(1, 3)}),
    )

    def switch(c: dict[str, Any], sel: PureRef, arms: tuple[Node, ...], cases: list[Any]) -> Node:
        n = min(len(arms) - 1, len(cases))
        return Alt(branches=arms[: n + 1], selector=sel, cases=tuple(cases[:n]), **c)

    return st.one_of(
        st.builds(lambda c, s: Seq(steps=s, **c), _common(), st.lists(kids, max_size=4).map(tuple)),
        st.builds(
            lambda c, b, o, r: Par(branches=b, reducer=r, **o, **c), _common(), many, par_opts, st.none() | pure_refs()
        ),
        st.builds(
            lambda c, b, m, r: Each(body=b, max_parallel=m, reducer=r, **c),
            _common(), kids, st.none() | st.integers(1, 8), st.none() | pure_refs(),
        ),
        st.builds(lambda c, p, t, f: Alt(branches=(t, f), pred=p, **c), _common(), pure_refs(), kids, kids),
        st.builds(
            switch, _common(), pure_refs(), st.lists(kids, min_size=1, max_size=4).map(tuple),
            st.lists(json_values(3), max_size=3),
        ),
        st.builds(
            lambda c, b, m, u: IterUpTo(body=b, max_rounds=m, until=u, **c),
            _common(), kids, st.integers(1, 5), st.none() | pure_refs(),
        ),
        st.builds(lambda c, b, i: Loop(body=b, init=i, **c), _common(), kids, json_values(3)),
    )


def ir_nodes(max_leaves: int = 12) -> st.SearchStrategy[Node]:
    """Arbitrary IR trees over every op (not necessarily runnable)."""
    return st.recursive(leaf_nodes(), _composites, max_leaves=max_leaves)


# -- kernel arrows ----------------------------------------------------------------


def _kernel_leaves() -> st.SearchStrategy[Arrow[Any, Any]]:
    return st.one_of(
        st.builds(lambda n: arr(n), names("p.")),
        st.builds(lambda n, k: arr(n, k=k), names("p."), st.integers(0, 3)),
        st.builds(lambda n: call(n), names("t")),
        st.builds(lambda n: think(n), names("r")),
        st.builds(lambda n, s: sub(n, Contract(s)), names("f."), st.sampled_from(list(Shape))),
        st.just(ident()),
        st.builds(lambda n: stage(n), names("pl")),
        st.builds(lambda n: app(n, max_rounds=3), names("ctl")),
    )


def _kernel_composites(kids: st.SearchStrategy[Arrow[Any, Any]]) -> st.SearchStrategy[Arrow[Any, Any]]:
    many = st.lists(kids, min_size=1, max_size=3)
    return st.one_of(
        st.builds(lambda xs: seq(*xs), st.lists(kids, max_size=3)),
        st.builds(lambda a, b: a >> b, kids, kids),
        st.builds(lambda xs: par(*xs), many),
        st.builds(lambda a, b: a & b, kids, kids),
        st.builds(lambda b, m: each(b, max_parallel=m), kids, st.none() | st.integers(1, 4)),
        st.builds(lambda p, a, b: alt(p, a, b), names("p."), kids, kids),
        st.builds(lambda s, a, d: alt(s, cases={"x": a}, default=d), names("p."), kids, kids),
        st.builds(lambda m, b, u: iter_up_to(m, b, until=u), st.integers(1, 4), kids, st.none() | names("p.")),
    )


def kernel_arrows(max_leaves: int = 10) -> st.SearchStrategy[Arrow[Any, Any]]:
    """Arrows built by the kernel functions and the ``>>``/``&`` operators."""
    return st.recursive(_kernel_leaves(), _kernel_composites, max_leaves=max_leaves)


# -- runnable trees (int -> int) -----------------------------------------------------


def _inc(x: int) -> int:
    return (x + 1) % 1000


def _double(x: int) -> int:
    return (x * 2) % 1000


def _sum(xs: list[int]) -> int:
    return sum(xs) % 1000


def _spread(x: int, n: int = 3) -> list[int]:
    return [(x + i) % 1000 for i in range(n)]


def _is_even(x: int) -> bool:
    return x % 2 == 0


for _name, _fn in (
    ("prop.inc", _inc),
    ("prop.double", _double),
    ("prop.sum", _sum),
    ("prop.spread", _spread),
    ("prop.is_even", _is_even),
):
    register_pure(_name, _fn)


async def _jitter_add(x: int, delta: int, spins: int) -> int:
    for _ in range(spins):
        await asyncio.sleep(0)
    return (x + delta) % 1000


def runnable_env_tools() -> dict[str, Callable[..., Any]]:
    """Fakes for the tools runnable trees call (async, with uneven await counts)."""

    async def prop_add1(x: int) -> int:
        return await _jitter_add(x, 1, x % 3)

    async def prop_add7(x: int) -> int:
        return await _jitter_add(x, 7, (x * 7) % 5)

    def prop_sync3(x: int) -> int:
        return (x + 3) % 1000

    return {"prop_add1": prop_add1, "prop_add7": prop_add7, "prop_sync3": prop_sync3}


RUNNABLE_TOOLS = ("prop_add1", "prop_add7", "prop_sync3")


def _runnable_leaves() -> st.SearchStrategy[Node]:
    return st.one_of(
        st.sampled_from([Arr(pure="prop.inc"), Arr(pure="prop.double"), Ident()]),
        st.sampled_from([Prim(step=CallStep(t)) for t in RUNNABLE_TOOLS]),
    )


def _runnable_composites(kids: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    many = st.lists(kids, min_size=1, max_size=4).map(tuple)
    return st.one_of(
        st.builds(lambda s: Seq(steps=s), st.lists(kids, min_size=1, max_size=4).map(tuple)),
        st.builds(lambda b: Par(branches=b, reducer=PureRef("prop.sum")), many),
        st.builds(
            lambda b, n, m: Seq(
                steps=(Arr(pure="prop.spread", args={"n": n}), Each(body=b, max_parallel=m), Arr(pure="prop.sum"))
            ),
            kids, st.integers(0, 4), st.none() | st.integers(1, 3),
        ),
        st.builds(
            lambda b, n: Seq(
                steps=(Arr(pure="prop.spread", args={"n": n}), Each(body=b, reducer=PureRef("prop.sum")))
            ),
            kids, st.integers(0, 4),
        ),
        st.builds(lambda t, f: Alt(branches=(t, f), pred=PureRef("prop.is_even")), kids, kids),
        st.builds(
            lambda b, m, u: IterUpTo(body=b, max_rounds=m, until=PureRef("prop.is_even") if u else None),
            kids, st.integers(1, 3), st.booleans(),
        ),
    )


def runnable_nodes(max_leaves: int = 10) -> st.SearchStrategy[Node]:
    """int → int trees the interpreter runs (pures registered, tools faked by :func:`runnable_env_tools`)."""
    return st.recursive(_runnable_leaves(), _runnable_composites, max_leaves=max_leaves)


# -- seeded plain-random trees ------------------------------------------------------------


def _rname(rng: random.Random, prefix: str) -> str:
    return prefix + "".join(rng.choice("abcxyz_é") for _ in range(rng.randint(1, 5)))


def _rjson(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth > 2 or roll < 0.5:
        return rng.choice([None, True, False, rng.randint(-100, 100), rng.random() * 10, _rname(rng, "s")])
    if roll < 0.75:
        return [_rjson(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {_rname(rng, "k"): _rjson(rng, depth + 1) for _ in range(rng.randint(0, 3))}


def _rref(rng: random.Random) -> PureRef:
    return PureRef(_rname(rng, "p."), {"a": _rjson(rng)} if rng.random() < 0.5 else None)


def random_node(rng: random.Random, depth: int = 0) -> Node:
    """A tree drawn from ``rng`` (same seed, same tree, in any process)."""
    ann = Ann(cost_usd=round(rng.random(), 3), effect=rng.choice(list(Effect))) if rng.random() < 0.2 else None
    if depth >= 4 or rng.random() < 0.35:
        kind = rng.randrange(5)
        if kind == 0:
            return Arr(pure=_rname(rng, "p."), args={"x": _rjson(rng)} if rng.random() < 0.5 else None, ann=ann)
        if kind == 1:
            return Prim(step=CallStep(_rname(rng, "t")), ann=ann)
        if kind == 2:
            return Prim(step=ThinkStep(_rname(rng, "r")))
        if kind == 3:
            return Prim(step=SubStep(_rname(rng, "f."), Contract(rng.choice(list(Shape)))))
        return Ident(name=_rname(rng, "n") if rng.random() < 0.3 else None)
    kids = [random_node(rng, depth + 1) for _ in range(rng.randint(1, 3))]
    kind = rng.randrange(6)
    if kind == 0:
        return Seq(steps=tuple(kids), ann=ann)
    if kind == 1:
        return Par(branches=tuple(kids), merge=rng.choice(list(Merge)), k=rng.choice([None, 1, 2]))
    if kind == 2:
        return Each(body=kids[0], max_parallel=rng.choice([None, 2]), reducer=rng.choice([None, _rref(rng)]))
    if kind == 3:
        return Alt(branches=(kids[0], kids[-1]), pred=_rref(rng))
    if kind == 4:
        return Alt(branches=(*kids, Ident()), selector=_rref(rng), cases=tuple(_rjson(rng) for _ in kids))
    return IterUpTo(body=kids[0], max_rounds=rng.randint(1, 4), until=rng.choice([None, _rref(rng)]))
