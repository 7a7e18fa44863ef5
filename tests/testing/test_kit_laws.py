"""check_laws on user arrows: the laws hold for real arrows and a broken law is reported."""

from __future__ import annotations

from typing import Any

import pytest

from composable_agents import Reasoner, pure, think, tool
from composable_agents.authoring.kernel import call, each, seq
from composable_agents.testing import LAWS, LawViolation, check_laws
from composable_agents.testing import laws as laws_module


@tool(name="kl_fetch", effect="read", idempotent=True)
def kl_fetch(q: str) -> str:
    return q


@pure("kl.upper")
def kl_upper(text: str) -> str:
    return text.upper()


kl_writer = Reasoner(name="kl_writer", model="fake", reply=str, prompt=str)


def test_the_laws_hold_for_tools_pures_reasoners_and_kernel_nodes() -> None:
    check_laws(call(kl_fetch), kl_upper, think(kl_writer), seq(call(kl_fetch), kl_upper), max_examples=30)


def test_the_laws_hold_for_untyped_kernel_arrows() -> None:
    check_laws(call("kl_fetch"), each(call("kl_fetch")), max_examples=20)


def test_a_single_law_can_be_chosen_and_unknown_laws_are_refused() -> None:
    check_laws(call(kl_fetch), laws=("round trip",), max_examples=5)
    with pytest.raises(ValueError, match="unknown law"):
        check_laws(call(kl_fetch), laws=("commutativity",))
    with pytest.raises(TypeError, match="takes arrows"):
        check_laws("not an arrow")  # type: ignore[arg-type]


def test_a_broken_law_is_reported_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    # Break freezing for one composition form: the associativity law must catch it.
    real = laws_module._frozen_text
    calls = {"n": 0}

    def flaky(arrow: Any) -> str:
        calls["n"] += 1
        text = real(arrow)
        return text + " (perturbed)" if calls["n"] % 3 == 2 else text

    monkeypatch.setattr(laws_module, "_frozen_text", flaky)
    with pytest.raises(LawViolation, match="'associativity'"):
        check_laws(call(kl_fetch), kl_upper, laws=("associativity",), max_examples=5)
    assert set(LAWS) == {"associativity", "identity", "round trip", "shape join"}
