"""The selector grammar: every form on the fixture's DAG, in-process and through ``ca ls``, and the caret on errors."""

from __future__ import annotations

import pytest
from cli_fixtures import Ca

from composable_agents.cli.selectors import SelectorError, caret, parse, select

# The fixture's cross-agent DAG (entry -> what it depends on), plus a chain to see transitivity.
TAGS = {
    "echo": (), "escalate.v1": ("ops", "support"), "helper": ("support",), "quick_refund": ("billing",),
    "refund.v1": ("billing",), "triage.v1": ("support",), "lookup": ("data",), "page": ("ops",),
}
DEPS = {"escalate.v1": ("triage.v1",), "helper": ("triage.v1",), "triage.v1": ("lookup",), "page": ("escalate.v1",)}


def sel(*args: str, exclude: tuple[str, ...] = (), modified: set[str] | None = None) -> list[str]:
    return select(list(args), tags=TAGS, deps=DEPS, exclude=list(exclude), modified=lambda: set(modified or ()))


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), sorted(TAGS)),
        (("helper",), ["helper"]),
        (("tag:billing",), ["quick_refund", "refund.v1"]),
        (("+helper",), ["helper", "lookup", "triage.v1"]),
        (("triage.v1+",), ["escalate.v1", "helper", "page", "triage.v1"]),
        (("+escalate.v1+",), ["escalate.v1", "lookup", "page", "triage.v1"]),
        # @: the entry, everything depending on it, and everything those depend on.
        (("@escalate.v1",), ["escalate.v1", "lookup", "page", "triage.v1"]),
        (("@lookup",), ["escalate.v1", "helper", "lookup", "page", "triage.v1"]),
        (("tag:support,tag:ops",), ["escalate.v1"]),
        (("tag:support,+helper",), ["helper", "triage.v1"]),
        (("tag:billing", "echo"), ["echo", "quick_refund", "refund.v1"]),
        (("+tag:ops",), ["escalate.v1", "lookup", "page", "triage.v1"]),
    ],
)
def test_every_selector_form(args: tuple[str, ...], expected: list[str]) -> None:
    assert sel(*args) == expected


def test_exclude_and_state_modified() -> None:
    assert sel("tag:support", exclude=("helper",)) == ["escalate.v1", "triage.v1"]
    assert sel(exclude=("tag:billing", "+helper")) == ["echo", "escalate.v1", "page"]
    assert sel("state:modified", modified={"helper", "echo"}) == ["echo", "helper"]
    assert sel("state:modified+", modified={"triage.v1"}) == ["escalate.v1", "helper", "page", "triage.v1"]
    calls: list[int] = []
    select(["helper"], tags=TAGS, deps=DEPS, modified=lambda: calls.append(1) or set())
    assert calls == [], "state:modified is computed only when a selector asks for it"


@pytest.mark.parametrize(
    ("text", "position", "reason"),
    [
        ("tag:x,", 6, "empty term"),
        (",a", 0, "empty term"),
        ("tga:support", 0, "unknown selector method 'tga'"),
        ("state:stale", 6, "unknown state 'stale'"),
        ("@+helper", 0, "'@' already includes both directions"),
        ("+", 1, "an operator needs a name"),
        ("tag:", 4, "tag: needs a value"),
        ("hel per", 3, "unexpected character ' '"),
        ("nope", 0, "no flow, agent or session named 'nope'"),
    ],
)
def test_malformed_selectors_point_at_the_fault(text: str, position: int, reason: str) -> None:
    with pytest.raises(SelectorError) as info:
        sel(text)
    assert info.value.position == position
    assert info.value.reason.startswith(reason)
    assert caret(info.value).splitlines()[1:] == [f"  {text}", "  " + " " * position + "^"]


def test_parse_keeps_operators() -> None:
    (term,) = parse("+helper+")
    assert (term.atom.method, term.atom.value, term.ancestors, term.descendants, term.at) == ("name", "helper", True, True, False)


def test_selectors_through_ca(ca: Ca) -> None:
    done = ca("ls", "tag:support,triage.v1+", "refund.v1", "--exclude", "helper")
    assert done.returncode == 0
    assert [line.split()[0] for line in done.stdout.splitlines()[1:]] == ["escalate.v1", "refund.v1", "triage.v1"]
    bad = ca("ls", "tag:support,,helper")
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert bad.stderr == (
        "error: malformed selector: empty term (two commas, or a comma at an end)\n"
        "  tag:support,,helper\n"
        "              ^\n"
    )
    no_env = ca("ls", "state:modified")
    assert no_env.returncode == 2 and "pass --env ENV" in no_env.stderr
