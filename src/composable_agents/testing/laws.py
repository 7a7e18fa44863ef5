"""``check_laws``: the IR laws of SPEC §13, checked on the user's own arrows.

The laws are declared once, in :data:`LAWS` (name → check), and every check
runs over triples that hypothesis picks from the arrows given (with
repetition), so a user's arrows get the same laws our own
``property_tests/`` prove for generated ones:

* **associativity** — ``(a >> b) >> c``, ``a >> (b >> c)`` and
  ``seq(a, b, c)`` freeze to one IR text;
* **identity** — ``ident() >> a`` and ``a >> ident()`` freeze to ``a``;
* **round trip** — ``Node.from_json(a.to_json())`` is ``a``, with the same
  canonical JSON and digest;
* **shape join** — the shape of ``a >> b`` is the join of the shapes (surface
  and closed), and the fan-out ``a & b`` adds the ``DATAFLOW`` floor.

Compositions the typed layer refuses (``a``'s output does not fit ``b``'s
input) are not the laws' business: hypothesis skips those triples. Rejected:
one ``test_*`` function per law for users to copy (the laws would drift
between copies), as in ``returns``' ``check_all_laws``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from hypothesis import HealthCheck, Phase, assume, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from composable_agents.authoring.arrow import Arrow
from composable_agents.authoring.kernel import ident, seq
from composable_agents.compiler.freeze import freeze
from composable_agents.core.canonical import canonical_dumps
from composable_agents.core.ir import Node
from composable_agents.core.pures import Registry
from composable_agents.core.shapes import closed_shape, surface_shape

__all__ = ["LAWS", "LawViolation", "check_laws"]


class LawViolation(AssertionError):
    """An IR law failed on the user's arrows; the message names the law and the arrows."""


def _frozen_text(arrow: Arrow[Any, Any] | Node) -> str:
    """The frozen IR of ``arrow`` as canonical JSON, against no tools (laws are about structure)."""
    node = arrow if isinstance(arrow, Node) else arrow.to_ir()
    # A private empty registry: freezing must not depend on (or bind) what the user registered.
    frozen = freeze(node, tools=[], reasoners=[], registry=Registry())
    return canonical_dumps(frozen.node.to_json())


def _compose(make: Callable[[], Arrow[Any, Any]]) -> Arrow[Any, Any]:
    """``make()``, or a hypothesis skip when the typed layer refuses the composition."""
    try:
        return make()
    except (TypeError, ValueError) as exc:
        assume(False)
        raise AssertionError("unreachable") from exc


def _fail(law: str, message: str, *arrows: Arrow[Any, Any]) -> None:
    names = ", ".join(repr(a) for a in arrows)
    msg = f"IR law {law!r} fails for {names}: {message}"
    raise LawViolation(msg)


def _law_associativity(a: Arrow[Any, Any], b: Arrow[Any, Any], c: Arrow[Any, Any]) -> None:
    """``(a >> b) >> c``, ``a >> (b >> c)`` and ``seq(a, b, c)`` are one frozen IR."""
    forms = {
        "(a >> b) >> c": _compose(lambda: (a >> b) >> c),
        "a >> (b >> c)": _compose(lambda: a >> (b >> c)),
        "seq(a, b, c)": _compose(lambda: seq(a, b, c)),
    }
    texts = {name: _frozen_text(f) for name, f in forms.items()}
    if len(set(texts.values())) != 1:
        _fail("associativity", "the forms freeze differently: " + "; ".join(f"{k} -> {v[:120]}" for k, v in texts.items()), a, b, c)


def _law_identity(a: Arrow[Any, Any], b: Arrow[Any, Any], c: Arrow[Any, Any]) -> None:
    """``ident() >> a`` and ``a >> ident()`` freeze to ``a``."""
    del b, c
    base = _frozen_text(a)
    for name, form in (("ident() >> a", lambda: ident() >> a), ("a >> ident()", lambda: a >> ident())):
        if _frozen_text(_compose(form)) != base:
            _fail("identity", f"{name} does not freeze to a", a)


def _law_round_trip(a: Arrow[Any, Any], b: Arrow[Any, Any], c: Arrow[Any, Any]) -> None:
    """``Node.from_json(a.to_json())`` equals ``a``: same node, canonical JSON and digest."""
    del b, c
    node = a.to_ir()
    doc = a.to_json()
    back = Node.from_json(doc)
    if back != node:
        _fail("round trip", "Node.from_json(a.to_json()) is a different node", a)
    if canonical_dumps(back.to_json()) != canonical_dumps(doc):
        _fail("round trip", "the canonical JSON changed across the round trip", a)
    if back.digest() != node.digest():
        _fail("round trip", "the digest changed across the round trip", a)
    if canonical_dumps(Node.from_json(canonical_dumps(doc)).to_json()) != canonical_dumps(doc):
        _fail("round trip", "decoding the canonical JSON text gives another node", a)


def _law_shape_join(a: Arrow[Any, Any], b: Arrow[Any, Any], c: Arrow[Any, Any]) -> None:
    """The shape of ``a >> b`` is the join of theirs; ``a & b`` joins the ``DATAFLOW`` floor too."""
    del c
    both = _compose(lambda: a >> b)
    sa, sb = surface_shape(a.to_ir()), surface_shape(b.to_ir())
    if surface_shape(both.to_ir()) is not sa.join(sb):
        _fail("shape join", f"surface shape of a >> b is {surface_shape(both.to_ir())}, not {sa.join(sb)}", a, b)
    ca, cb = closed_shape(a.to_ir()), closed_shape(b.to_ir())
    if closed_shape(both.to_ir()) is not ca.join(cb):
        _fail("shape join", f"closed shape of a >> b is {closed_shape(both.to_ir())}, not {ca.join(cb)}", a, b)
    fan = _compose(lambda: a & b)
    want = sa.join(sb).join(type(sa).DATAFLOW)
    if surface_shape(fan.to_ir()) is not want:
        _fail("shape join", f"surface shape of a & b is {surface_shape(fan.to_ir())}, not {want}", a, b)


LAWS: Final[dict[str, Callable[[Arrow[Any, Any], Arrow[Any, Any], Arrow[Any, Any]], None]]] = {
    "associativity": _law_associativity,
    "identity": _law_identity,
    "round trip": _law_round_trip,
    "shape join": _law_shape_join,
}
"""Every law by name; each takes a triple ``(a, b, c)`` (laws of fewer arrows ignore the rest)."""


def check_laws(*arrows: Arrow[Any, Any], max_examples: int = 50, laws: tuple[str, ...] | None = None) -> None:
    """Check the IR laws (:data:`LAWS`, or the named ``laws``) on ``arrows``.

    Hypothesis draws triples from ``arrows`` (with repetition); a failing law
    raises :class:`LawViolation` naming the law and the arrows. Triples whose
    composition the typed layer refuses are skipped; if every one is, hypothesis
    reports that no example could be run.
    """
    if not arrows:
        msg = "check_laws() needs at least one arrow"
        raise ValueError(msg)
    given_arrows: tuple[object, ...] = arrows
    for a in given_arrows:
        if not isinstance(a, Arrow):
            msg = f"check_laws() takes arrows, got {a!r}"
            raise TypeError(msg)
    chosen = list(LAWS) if laws is None else list(laws)
    unknown = [name for name in chosen if name not in LAWS]
    if unknown:
        msg = f"unknown law(s) {', '.join(map(repr, unknown))}; the laws are {', '.join(map(repr, LAWS))}"
        raise ValueError(msg)
    pick = st.sampled_from(list(arrows))

    @hyp_settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],  # no line-traced "explain" re-runs
        suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
    )
    @given(pick, pick, pick)
    def every_law(a: Arrow[Any, Any], b: Arrow[Any, Any], c: Arrow[Any, Any]) -> None:
        for name in chosen:
            LAWS[name](a, b, c)

    every_law()
