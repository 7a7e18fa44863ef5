"""Climb the ladder, step 1: the core @flow loop with a compare-and-set guarded write.

A read tool loads an episode (with its version), a pure builds the prompt, a
reasoner drafts the summary, and a write tool saves it **only if the version is
still the one we read** (compare-and-set). The write declares
``idempotency="required"`` and takes the runtime's idempotency key, so a retried
or replayed call applies its effect once per key.

Runs with no API key: the reasoner is faked in ``dry_run``.
"""

from __future__ import annotations

from typing import Any, TypedDict

from composable_agents import Reasoner, deploy, flow, pure, think, tool


class Summary(TypedDict):
    summary: str


# An in-memory store standing in for a database row with a version column.
STORE: dict[str, dict[str, Any]] = {}
APPLIED: dict[str, dict[str, Any]] = {}  # idempotency key -> result of the first application


def reset_store() -> None:
    """Fresh example data (the example and its tests start from here)."""
    STORE.clear()
    APPLIED.clear()
    STORE["ep-7"] = {
        "episode": "ep-7",
        "version": 3,
        "transcript": "Ada and Grace discuss durable workflows, retries and idempotency keys.",
        "summary": None,
    }


@tool(name="episode_load", effect="read", idempotent=True)
def load_episode(episode: str) -> dict[str, Any]:
    """Read an episode and the version we will guard the write with."""
    row = STORE[episode]
    return {"episode": row["episode"], "version": row["version"], "transcript": row["transcript"]}


@pure("episode.prompt")
def episode_prompt(ep: dict[str, Any]) -> dict[str, Any]:
    """What the summarizer sees."""
    return {"episode": ep["episode"], "text": ep["transcript"]}


summarizer = Reasoner(
    name="episode_summarizer",
    model="anthropic:claude-haiku-4-5-20251001",
    system="Summarize the transcript in one sentence. Reply as JSON {summary}.",
    reply=Summary,
)


@tool(name="episode_save_summary", effect="write", idempotency="required")
def save_summary(episode: str, expected_version: int, summary: str, *, idempotency_key: str) -> dict[str, Any]:
    """Compare-and-set: write only if the row is still at ``expected_version``; once per idempotency key."""
    if idempotency_key in APPLIED:
        return APPLIED[idempotency_key]
    row = STORE[episode]
    if row["version"] != expected_version:
        result = {"saved": False, "conflict": True, "version": row["version"]}
    else:
        row["summary"] = summary
        row["version"] += 1
        result = {"saved": True, "conflict": False, "version": row["version"]}
    APPLIED[idempotency_key] = result
    return result


@flow
def summarize_episode(episode: str) -> dict[str, Any]:
    ep = load_episode(episode, retries=2, timeout_s=5)
    drafted = think(summarizer, episode_prompt(ep), timeout_s=30)
    return save_summary(
        episode=ep["episode"],
        expected_version=ep["version"],
        summary=drafted["summary"],
        retries=2,
    )


def fake_summarizer(value: dict[str, Any]) -> Summary:
    """A keyless stand-in for the model: the first clause of the transcript."""
    return {"summary": f"{value['episode']}: " + value["text"].split(",")[0] + "."}


deployment = deploy(summarize_episode, tools=[load_episode, save_summary], reasoners=[summarizer])


def main() -> dict[str, Any]:
    """Save once, replay the same run (applied once), then lose a race to a concurrent edit."""
    reset_store()
    fakes = {"episode_summarizer": fake_summarizer}
    first = deployment.dry_run("ep-7", reasoners=fakes, run_id="summarize-ep-7")
    replay = deployment.dry_run("ep-7", reasoners=fakes, run_id="summarize-ep-7")

    def concurrent_edit(value: dict[str, Any]) -> Summary:
        STORE["ep-7"]["version"] += 1  # someone else writes between our read and our write
        return fake_summarizer(value)

    stale = deployment.dry_run("ep-7", reasoners={"episode_summarizer": concurrent_edit}, run_id="summarize-again")
    return {
        "first": first.value,
        "replay": replay.value,
        "stale": stale.value,
        "stored": {k: STORE["ep-7"][k] for k in ("version", "summary")},
    }


if __name__ == "__main__":
    print(main())
