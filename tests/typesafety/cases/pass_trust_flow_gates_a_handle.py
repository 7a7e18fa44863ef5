from ts_common import Query, count, lookup

from composable_agents import flow, human_gate
from composable_agents.authoring.derived import GateDecision


@flow
def gated(q: Query) -> int:
    hits = lookup(q)
    approved = human_gate(hits, prompt="count them?", timeout_s=60)
    return count(approved)


@flow
def decided(q: Query) -> list[str] | GateDecision[list[str]]:
    return human_gate(lookup(q), prompt="keep?", on_reject="value")
