"""Climb the ladder, step 4: a budget guard on the Agent facade.

Every search costs $0.02 and every page fetch $0.05 (their ``Ann(cost_usd=...)``),
a controller call $0.001. The budget is checked **before** the controller
call and before each action, so an over-budget step never runs: the run ends
with status ``over_budget`` and a detail record saying what was spent and
which step was refused.
"""

from __future__ import annotations

from typing import Any

from composable_agents import Agent, Ann, tool

PAGES = {
    "durable execution": ["temporal.io/docs", "dbos.dev/why"],
    "idempotency keys": ["stripe.com/docs/idempotency"],
}
FETCHED: list[str] = []


@tool(name="research_search", effect="read", idempotent=True, ann=Ann(cost_usd=0.02))
def search(query: str) -> list[str]:
    return list(PAGES.get(query, []))


@tool(name="research_fetch", effect="read", idempotent=True, ann=Ann(cost_usd=0.05))
def fetch(url: str) -> str:
    FETCHED.append(url)
    return f"notes from {url}"


def curious_controller(view: dict[str, Any]) -> dict[str, Any]:
    """Search once, then read every hit, then summarize."""
    trace = view["trace"]
    if not trace:
        return {"action": "call", "tool": "research_search", "input": view["input"]}
    urls = trace[0]["observation"]
    read = [e["observation"] for e in trace[1:]]
    if len(read) < len(urls):
        return {"action": "call", "tool": "research_fetch", "input": urls[len(read)]}
    return {"action": "finish", "value": {"topic": view["input"], "notes": read}}


def build(budget: float) -> Agent[Any, Any]:
    return Agent(f"research.assistant.{int(budget * 100)}", tools=[search, fetch], budget=budget, max_rounds=10)


def main() -> dict[str, Any]:
    """The same question under a tight and a sufficient budget."""
    FETCHED.clear()
    tight = build(0.06)
    starved = tight.run("durable execution", reasoners={tight.controller: curious_controller})
    fetched_under_tight = list(FETCHED)
    roomy = build(0.25)
    done = roomy.run("durable execution", reasoners={roomy.controller: curious_controller})
    detail = starved.detail or {}
    return {
        "tight": {
            "status": starved.status,
            "refused": detail.get("before"),
            "spent": detail.get("spent", {}).get("cost"),
            "fetched": fetched_under_tight,
        },
        "roomy": {"status": done.status, "value": done.value},
    }


if __name__ == "__main__":
    print(main())
