"""The examples under the testing kit: generated inputs and model replies, every invariant of SPEC §21."""

from __future__ import annotations

from typing import Any

import pytest
from example_modules import load
from hypothesis import strategies as st

from composable_agents import deploy
from composable_agents.testing import check_flow


def test_quickstart_holds_for_every_reply_its_schema_allows() -> None:
    quickstart = load("quickstart")
    report = check_flow(quickstart.deployment, st.text(max_size=30), max_examples=30)
    assert report.statuses.get("ok", 0) > 0  # valid SupportReply records flowed through
    assert set(report.statuses) <= {"ok", "failed"}  # failed only on off-schema replies
    assert report.invalid_runs == report.statuses.get("failed", 0)


def test_typed_triage_routes_or_rejects_whatever_the_classifier_says() -> None:
    typed_triage = load("typed_triage")
    tickets = st.sampled_from(["T-1", "T-2", "T-404"])
    report = check_flow(deploy(typed_triage.flow), tickets, max_examples=25)
    # The classifier has no reply type: as_type(Urgent, Routine) is the flow's boundary, and it held.
    assert report.examples == 25
    assert set(report.statuses) <= {"ok", "failed"}


CLUSTERS = st.lists(st.sampled_from([{"id": "c1"}, {"id": "c2"}, {"id": "c3"}]), min_size=1, max_size=3)


def test_cluster_labeling_keeps_every_cluster_id_whatever_the_models_add() -> None:
    # The bug docs/testing.md walks through: with `meta | label | about`, a valid namer reply
    # {"label": ..., "id": ...} overwrote the cluster's id. The example now keeps only the asked-for fields.
    cluster_labeling = load("cluster_labeling_flow")
    inputs = st.fixed_dictionaries({"clusters": CLUSTERS, "taxonomy": st.just("billing|account|feature-request")})

    def ids_kept(value: dict[str, Any], result: Any) -> None:
        if result.ok:
            assert [row["id"] for row in result.value] == [c["id"] for c in value["clusters"]]

    report = check_flow(cluster_labeling.deployment, inputs, check=ids_kept, max_examples=40)
    assert report.statuses.get("ok", 0) > 0


def test_the_unfixed_merge_is_found() -> None:
    from composable_agents import each, flow, switch, think
    from composable_agents.testing import FlowCheckFailed

    m = load("cluster_labeling_flow")

    @flow
    def unfixed_cluster(cluster: dict[str, Any], taxonomy: str) -> dict[str, Any]:
        found = m.cluster_members(cluster=cluster, taxonomy=taxonomy)
        prompt = m.cluster_sample(found)
        label = think(m.namer, prompt)
        about = think(m.describer, prompt)
        meta = switch(m.size_bucket, found, cases={"large": m.confident, "small": m.tentative})
        return meta | label | about

    @flow
    def unfixed(clusters: list[dict[str, Any]], taxonomy: str) -> list[dict[str, Any]]:
        return each(unfixed_cluster, clusters, taxonomy=taxonomy)

    def ids_kept(value: dict[str, Any], result: Any) -> None:
        if result.ok:
            assert [row["id"] for row in result.value] == [c["id"] for c in value["clusters"]]

    inputs = st.fixed_dictionaries({"clusters": CLUSTERS, "taxonomy": st.just("billing|account|feature-request")})
    dep = deploy(unfixed, tools=[m.cluster_members], reasoners=[m.namer, m.describer])
    with pytest.raises(FlowCheckFailed) as info:
        check_flow(dep, inputs, check=ids_kept, max_examples=200)
    assert info.value.invariant == "your check"
    assert '"id":' in str(info.value)
