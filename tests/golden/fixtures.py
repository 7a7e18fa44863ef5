"""Fixture flows of the golden corpus.

Every name here is fixed and unique to the corpus (``golden.*`` pures,
``golden_*`` tools and reasoners) so the frozen JSON and the artifact hash do
not depend on test order or on what other tests registered. Tool and pure
*source text* is part of the artifact hash (pinned body hashes): editing a
body below, even its formatting, is a format change of the corpus — rerun
``scripts/regen_golden.py`` and review the diff.

``FIXTURES`` maps a fixture name to a zero-argument builder returning an
``Arrow``; :func:`deploy_fixture` deploys one with the explicit tool and
reasoner lists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from composable_agents import (
    Contract,
    Reasoner,
    Shape,
    alt,
    arr,
    call,
    deploy,
    each,
    fanout,
    iter_up_to,
    pure,
    sub,
    think,
    tool,
)
from composable_agents.authoring.arrow import Arrow
from composable_agents.compiler.deploy import Deployment


@pure("golden.normalize")
def golden_normalize(text: str) -> str:
    return " ".join(text.split()).lower()


@pure("golden.route")
def golden_route(ticket: dict[str, Any]) -> str:
    return str(ticket.get("kind", "other"))


@pure("golden.is_urgent")
def golden_is_urgent(ticket: dict[str, Any]) -> bool:
    return bool(ticket.get("urgent", False))


@pure("golden.score")
def golden_score(draft: str) -> dict[str, Any]:
    return {"draft": draft, "score": len(draft)}


@pure("golden.good_enough")
def golden_good_enough(scored: dict[str, Any], threshold: int = 10) -> bool:
    return int(scored["score"]) >= threshold


@pure("golden.pair")
def golden_pair(parts: list[Any]) -> dict[str, Any]:
    return {"facts": parts[0], "summary": parts[1]}


@tool(name="golden_lookup", effect="read", idempotent=True)
def golden_lookup(query: str) -> list[str]:
    return [query]


@tool(name="golden_file_ticket")
def golden_file_ticket(ticket: dict[str, Any]) -> dict[str, Any]:
    return {"filed": ticket}


GOLDEN_WRITER = Reasoner("golden_writer", "claude-haiku-4-5", system="Write briefly.", reply=str)
GOLDEN_TRIAGE = Reasoner("golden_triage", "claude-haiku-4-5", system="Triage.")

TOOLS = [golden_lookup, golden_file_ticket]
REASONERS = [GOLDEN_WRITER, GOLDEN_TRIAGE]


def simple_pipeline() -> Arrow[Any, Any]:
    """normalize >> lookup >> write: a Pipeline."""
    return golden_normalize >> call(golden_lookup) >> think(GOLDEN_WRITER)


def fan_out() -> Arrow[Any, Any]:
    """Fan out to a lookup and a writer, pair the results, then a bounded each."""
    return (
        fanout(call(golden_lookup), think(GOLDEN_WRITER))
        >> arr("golden.pair")
        >> arr("std.pluck", key="facts")
        >> each(call(golden_lookup), max_parallel=4)
    )


def switch() -> Arrow[Any, Any]:
    """A switch on the ticket kind with a default, and a binary choice inside one case."""
    refund = alt("golden.is_urgent", call(golden_file_ticket), think(GOLDEN_TRIAGE))
    return alt(
        "golden.route",
        cases={"refund": refund, "question": arr("std.pluck", key="text") >> think(GOLDEN_WRITER)},
        default=arr("std.init", key="unrouted"),
    )


def iter_rounds() -> Arrow[Any, Any]:
    """Draft and score up to three rounds, stopping when good enough."""
    body = think(GOLDEN_WRITER) >> golden_score >> arr("std.pluck", key="draft")
    return golden_normalize >> iter_up_to(3, body, until="golden.good_enough") >> golden_score


def sub_firewall() -> Arrow[Any, Any]:
    """A Feedback-shaped child behind a sub: the parent's surface stays Pipeline."""
    child = iter_up_to(2, think(GOLDEN_WRITER)).named("golden.child.v1")
    return golden_normalize >> sub(child, Contract.of(Shape.FEEDBACK)) >> call(golden_lookup)


FIXTURES: dict[str, Callable[[], Arrow[Any, Any]]] = {
    "simple_pipeline": simple_pipeline,
    "fan_out": fan_out,
    "switch": switch,
    "iter": iter_rounds,
    "sub_firewall": sub_firewall,
}


def deploy_fixture(name: str) -> Deployment[Any, Any]:
    """Deploy fixture ``name`` against exactly the corpus's tools and reasoners."""
    return deploy(FIXTURES[name](), tools=TOOLS, reasoners=REASONERS)


def golden_record(name: str) -> dict[str, Any]:
    """What the corpus pins for fixture ``name``."""
    deployment = deploy_fixture(name)
    return {
        "flow": deployment.flow_json,
        "surface_shape": str(deployment.surface_shape),
        "closed_shape": str(deployment.closed_shape),
        "artifact_hash": deployment.artifact_hash,
    }
