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
    Ann,
    CapabilityManifest,
    ContextPolicy,
    ContextScope,
    Contract,
    Reasoner,
    Shape,
    alt,
    arr,
    call,
    deploy,
    each,
    fanout,
    hedge,
    human_gate,
    iter_up_to,
    mcp,
    pure,
    quorum,
    race,
    snapshot_from_listings,
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


# -- deploy gates: race family, human gate, frozen MCP manifest, capability manifest --------


@tool(name="golden_send", effect="dangerous", idempotency="required")
def golden_send(message: str) -> str:
    return message


GATE_TOOLS = [golden_lookup, golden_send]

GOLDEN_SNAPSHOT = snapshot_from_listings(
    {
        "golden_search": {
            "web": {
                "inputSchema": {"type": "object", "properties": {"q": {"type": "string"}}},
                "outputSchema": {"type": "array"},
                "annotations": {"readOnlyHint": True, "idempotentHint": True},
            }
        }
    },
    versions={"golden_search": "1.4.2"},
)

GOLDEN_CAPABILITIES = """
tools:
  - {name: golden_lookup, effect: read, idempotency: native, maxCalls: 8}
  - {name: golden_send, effect: dangerous, idempotency: required, approval: required}
reasoners: [golden_writer]
models: [claude-haiku-4-5]
memory: [local, summary]
network: [api.internal.example]
subflows: []
budget: {cost: 0.25, tokens: 20000, wallSeconds: 60}
"""


def race_fixture() -> Arrow[Any, Any]:
    """Two read-only lookups race; the winner is written up."""
    return race([call(golden_lookup), golden_normalize >> call(golden_lookup)]) >> think(GOLDEN_WRITER)


def quorum_fixture() -> Arrow[Any, Any]:
    """Three lookups, settle on two successes, pair them with a reducer."""
    return quorum([call(golden_lookup), call(golden_lookup), call(golden_lookup)], k=2, reduce="golden.pair")


def hedge_fixture() -> Arrow[Any, Any]:
    """A hedged lookup: the second copy starts after 150 ms without a success."""
    return golden_normalize >> hedge([call(golden_lookup), call(golden_lookup)], hedge_ms=150)


def human_gate_fixture() -> Arrow[Any, Any]:
    """Draft, ask a human (timing out after an hour), then send: the dangerous call is gated."""
    return (
        think(GOLDEN_WRITER)
        >> human_gate("Send this message?", timeout_s=3600)
        >> call(golden_send)
    )


def frozen_manifest_fixture() -> Arrow[Any, Any]:
    """An MCP tool frozen from a listing (hints untrusted), asserted read-only by a grant, raced."""
    return race(call(mcp("golden_search", "web")), call(mcp("golden_search", "web"))) >> think(GOLDEN_WRITER)


def capability_manifest_fixture() -> Arrow[Any, Any]:
    """Every section of the SPEC's manifest format, deployed strictly."""
    return (
        call(golden_lookup, ann=Ann(cost_usd=0.01))
        >> think(GOLDEN_WRITER, ctx=ContextPolicy(scope=ContextScope.SUMMARY))
        >> human_gate("Send?")
        >> call(golden_send)
    )


FIXTURES: dict[str, Callable[[], Arrow[Any, Any]]] = {
    "simple_pipeline": simple_pipeline,
    "fan_out": fan_out,
    "switch": switch,
    "iter": iter_rounds,
    "sub_firewall": sub_firewall,
    "race": race_fixture,
    "quorum": quorum_fixture,
    "hedge": hedge_fixture,
    "human_gate": human_gate_fixture,
    "frozen_manifest": frozen_manifest_fixture,
    "capability_manifest": capability_manifest_fixture,
}

DEPLOY_OPTIONS: dict[str, Callable[[], dict[str, Any]]] = {
    "human_gate": lambda: {"tools": GATE_TOOLS},
    "frozen_manifest": lambda: {
        "snapshot": GOLDEN_SNAPSHOT,
        "tools": [],
        "capabilities": {
            "tools": [{"name": "golden_search/web", "effect": "read", "idempotency": "native"}],
            "mcp_servers": {"golden_search": ">=1.2,<2"},
        },
    },
    "capability_manifest": lambda: {
        "tools": GATE_TOOLS,
        "capabilities": CapabilityManifest.from_yaml(GOLDEN_CAPABILITIES),
    },
}
"""Per-fixture deploy arguments beyond the corpus's tools and reasoners."""


def deploy_fixture(name: str) -> Deployment[Any, Any]:
    """Deploy fixture ``name`` against exactly the corpus's tools and reasoners."""
    options: dict[str, Any] = {"tools": TOOLS, "reasoners": REASONERS}
    options.update(DEPLOY_OPTIONS.get(name, dict)())
    snapshot = options.pop("snapshot", None)
    return deploy(FIXTURES[name](), snapshot, **options)


def golden_record(name: str) -> dict[str, Any]:
    """What the corpus pins for fixture ``name``."""
    deployment = deploy_fixture(name)
    return {
        "flow": deployment.flow_json,
        "surface_shape": str(deployment.surface_shape),
        "closed_shape": str(deployment.closed_shape),
        "artifact_hash": deployment.artifact_hash,
    }
