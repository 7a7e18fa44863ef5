"""``tags=`` on ``@flow``, ``Agent`` and ``.named``: selection metadata, never part of the IR or any hash."""

from __future__ import annotations

import pytest

from composable_agents import Agent, deploy, flow, tool
from composable_agents.authoring.arrow import check_tags
from composable_agents.errors import CompositionError


@tool(name="tags_lookup", effect="read", idempotent=True)
def tags_lookup(ticket: str) -> dict[str, str]:
    return {"ticket": ticket}


@tool(name="tags_note", effect="read", idempotent=True)
def tags_note(hit: dict[str, str]) -> dict[str, str]:
    return {**hit, "note": "seen"}


def test_flow_tags_are_metadata_not_identity() -> None:
    @flow(name="tags.triage.v1", tags=("support", "billing", "support"))
    def tagged(ticket: str) -> dict[str, str]:
        return tags_lookup(ticket)

    @flow(name="tags.triage.v1")
    def plain(ticket: str) -> dict[str, str]:
        return tags_lookup(ticket)

    assert tagged.tags == ("billing", "support")
    assert plain.tags == ()
    assert tagged.to_json() == plain.to_json() and tagged.digest == plain.digest
    assert deploy(tagged).artifact_hash == deploy(plain).artifact_hash


def test_named_tags_and_affinity() -> None:
    pipeline = tags_lookup >> tags_note
    named = pipeline.named("tags.pipe.v1", tags=["ops"])
    assert (named.ref, named.tags) == ("tags.pipe.v1", ("ops",))
    assert named.named("tags.pipe.v2").tags == ("ops",), "tags=None keeps the tags"
    assert named.named("tags.pipe.v3", tags=()).tags == ()
    assert (named >> tags_note).tags == (), "composition yields an anonymous, untagged arrow"
    assert deploy(named).artifact_hash == deploy(pipeline.named("tags.pipe.v1")).artifact_hash


def test_agent_tags() -> None:
    agent = Agent("tags.helper", tools=[tags_lookup], tags=("support",))
    assert agent.tags == ("support",)
    assert agent.named("tags.helper2").tags == ("support",)
    assert agent.with_tools(name="tags.helper3").tags == ("support",)
    untagged = agent.named("tags.helper", tags=())
    assert untagged.tags == ()
    assert agent.to_json() == untagged.to_json()
    assert agent.deploy().artifact_hash == untagged.deploy().artifact_hash


@pytest.mark.parametrize("bad", ["support", ["a b"], [""], ["a,b"], ["tag:x"], [1]])
def test_malformed_tags_are_construction_errors(bad: object) -> None:
    with pytest.raises(CompositionError, match="tag"):
        check_tags(bad)  # type: ignore[arg-type]
    with pytest.raises(CompositionError, match="tag"):
        Agent("tags.bad", tags=bad)  # type: ignore[arg-type]
