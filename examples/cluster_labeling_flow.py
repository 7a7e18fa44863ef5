"""Climb the ladder, step 2: scale the same @flow surface.

Teaches fan-out (``each`` over clusters), closure captures (every item also
sees the run's ``taxonomy``), ``switch`` (route on cluster size), inferred
parallel reasoner steps (two independent ``think`` calls run side by side),
retry options on tools and reasoners, and keeping only the reply fields you
asked for (``tests/examples/test_examples_properties.py`` checks it).

Runs with no API key: both reasoners are faked in ``dry_run``.
"""

from __future__ import annotations

from typing import Any, TypedDict

from composable_agents import Reasoner, deploy, each, flow, pure, switch, think, tool


class Label(TypedDict):
    label: str


class Description(TypedDict):
    description: str


MEMBERS: dict[str, list[str]] = {
    "c1": ["refund request", "charged twice", "billing error", "invoice missing"],
    "c2": ["password reset", "2fa locked out"],
    "c3": ["dark mode please", "export to csv", "keyboard shortcuts"],
}


@tool(name="cluster_members", effect="read", idempotent=True)
def cluster_members(cluster: dict[str, Any], taxonomy: str) -> dict[str, Any]:
    """Fetch a cluster's member texts (read-only, so it may retry)."""
    members = MEMBERS[cluster["id"]]
    return {"id": cluster["id"], "taxonomy": taxonomy, "members": members, "size": len(members)}


@pure("cluster.sample")
def cluster_sample(found: dict[str, Any]) -> dict[str, Any]:
    """The prompt: a few members and the taxonomy to label against."""
    return {"taxonomy": found["taxonomy"], "examples": found["members"][:3]}


@pure("cluster.size_bucket")
def size_bucket(found: dict[str, Any]) -> str:
    """``large`` clusters get confident labels; ``small`` ones are tentative."""
    return "large" if found["size"] >= 3 else "small"


@pure("cluster.confident")
def confident(found: dict[str, Any]) -> dict[str, Any]:
    return {"id": found["id"], "size": found["size"], "confidence": "high"}


@pure("cluster.tentative")
def tentative(found: dict[str, Any]) -> dict[str, Any]:
    return {"id": found["id"], "size": found["size"], "confidence": "low"}


@pure("cluster.only_label")
def only_label(reply: Label) -> Label:
    """Keep the one field we asked for: a reply may carry more keys than ``Label`` lists."""
    return {"label": reply["label"]}


@pure("cluster.only_description")
def only_description(reply: Description) -> Description:
    return {"description": reply["description"]}


namer = Reasoner(name="cluster_namer", model="anthropic:claude-haiku-4-5-20251001", reply=Label,
                 system="Name the cluster with one label from the taxonomy.")
describer = Reasoner(name="cluster_describer", model="anthropic:claude-haiku-4-5-20251001", reply=Description,
                     system="Describe the cluster in one sentence.")


@flow
def label_cluster(cluster: dict[str, Any], taxonomy: str) -> dict[str, Any]:
    found = cluster_members(cluster=cluster, taxonomy=taxonomy, retries=3, retry_interval_s=0.5, backoff_rate=2.0)
    prompt = cluster_sample(found)
    label = think(namer, prompt, retries=1, timeout_s=20)  # these two do not depend on each other,
    about = think(describer, prompt, retries=1, timeout_s=20)  # so they run in parallel
    meta = switch(size_bucket, found, cases={"large": confident, "small": tentative})
    # Not `meta | label | about`: a reply {"label": ..., "id": ...} is valid (a TypedDict allows extra
    # keys) and would overwrite the cluster's id. check_flow found it (docs/testing.md).
    return meta | only_label(label) | only_description(about)


@flow
def label_clusters(clusters: list[dict[str, Any]], taxonomy: str) -> list[dict[str, Any]]:
    return each(label_cluster, clusters, taxonomy=taxonomy, max_parallel=2)


def fake_namer(value: dict[str, Any]) -> Label:
    words = " ".join(value["examples"])
    for label in value["taxonomy"].split("|"):
        if label in words or (label == "account" and "password" in words):
            return {"label": label}
    return {"label": "feature-request"}


def fake_describer(value: dict[str, Any]) -> Description:
    return {"description": f"{len(value['examples'])} examples like {value['examples'][0]!r}"}


deployment = deploy(label_clusters, tools=[cluster_members], reasoners=[namer, describer])


def main() -> list[dict[str, Any]]:
    """Label three clusters against a taxonomy with keyless fake reasoners."""
    result = deployment.dry_run(
        {"clusters": [{"id": "c1"}, {"id": "c2"}, {"id": "c3"}], "taxonomy": "billing|account|feature-request"},
        reasoners={"cluster_namer": fake_namer, "cluster_describer": fake_describer},
    )
    return result.value


if __name__ == "__main__":
    for row in main():
        print(row)
