from ts_common import Query, lookup

from composable_agents import Pipeline, human_gate, tool
from composable_agents.authoring.derived import GateDecision

Hits = list[str]


@tool(effect="read")
def settle(outcome: Hits | GateDecision[Hits]) -> str:
    if isinstance(outcome, dict):
        return "rejected: " + str(outcome["reason"]) + str(len(outcome["input"]))
    return ",".join(outcome)


# on_reject="value": an approval passes the input through, a rejection yields the record.
decided: Pipeline[Query, Hits | GateDecision[Hits]] = lookup >> human_gate("ok?", on_reject="value")
flow: Pipeline[Query, str] = decided >> settle
