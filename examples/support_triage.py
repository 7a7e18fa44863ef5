"""Climb the ladder, step 3: the Agent facade with a keyless local controller.

A support agent may look a ticket up, check the refund policy (a named
sub-flow) and issue a refund. Its controller is a plain Python function here —
a deterministic stand-in for a model — that answers the loop's JSON protocol:
each round it sees ``{"input", "trace", "last"}`` and returns one action.

It also tries a tool it was never granted; the call is denied (never run),
recorded, and the denial comes back as ``last``.
"""

from __future__ import annotations

from typing import Any

from composable_agents import Agent, pure, tool
from composable_agents.agents.plans import agent_trace

TICKETS = {
    "T-100": {"ticket": "T-100", "customer": "ada", "issue": "charged twice", "amount": 42},
    "T-200": {"ticket": "T-200", "customer": "grace", "issue": "cannot log in", "amount": 0},
}
REFUNDS: list[dict[str, Any]] = []


@tool(name="support_lookup", effect="read", idempotent=True)
def lookup(ticket: str) -> dict[str, Any]:
    """Fetch a ticket."""
    return dict(TICKETS[ticket])


@tool(name="support_refund", effect="write", idempotency="required")
def refund(request: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
    """Refund once per idempotency key."""
    for done in REFUNDS:
        if done["key"] == idempotency_key:
            previous: dict[str, Any] = done["receipt"]
            return previous
    receipt = {"refunded": request["amount"], "customer": request["customer"]}
    REFUNDS.append({"key": idempotency_key, "receipt": receipt})
    return receipt


@pure("support.refund_policy")
def refund_policy(ticket: dict[str, Any]) -> dict[str, Any]:
    """Refunds up to $100 for billing issues."""
    eligible = "charged" in ticket["issue"] and 0 < ticket["amount"] <= 100
    return {"eligible": eligible, "amount": ticket["amount"], "customer": ticket["customer"]}


policy = refund_policy.named("support.refund_policy.v1")

agent = Agent("support.triage", tools=[lookup, refund, policy], max_rounds=8, budget=0.05)


def keyless_controller(view: dict[str, Any]) -> dict[str, Any]:
    """Decide the next action from the trace: look up, try an ungranted tool, check policy, refund or escalate."""
    done = {e["action"].get("tool") or e["action"].get("flow"): e for e in view["trace"]}
    ticket = view["input"]
    if "support_lookup" not in done:
        return {"action": "call", "tool": "support_lookup", "input": ticket}
    if "crm_delete_customer" not in done:
        return {"action": "call", "tool": "crm_delete_customer", "input": ticket}  # never granted
    found = done["support_lookup"]["observation"]
    if "support.refund_policy.v1" not in done:
        return {"action": "sub", "flow": "support.refund_policy.v1", "input": found}
    verdict = done["support.refund_policy.v1"]["observation"]
    if not verdict["eligible"]:
        return {"action": "escalate", "reason": f"{ticket}: {found['issue']} needs a human"}
    if "support_refund" not in done:
        return {"action": "call", "tool": "support_refund", "input": verdict}
    return {"action": "finish", "value": {"ticket": ticket, "resolution": "refunded", **done["support_refund"]["observation"]}}


def main() -> dict[str, Any]:
    """Triage one refundable and one non-refundable ticket."""
    REFUNDS.clear()
    fakes = {agent.controller: keyless_controller}
    refunded = agent.run("T-100", reasoners=fakes)
    escalated = agent.run("T-200", reasoners=fakes)
    trace = agent_trace(refunded)
    return {
        "T-100": {"status": refunded.status, "value": refunded.value},
        "T-200": {"status": escalated.status, "reason": (escalated.detail or {}).get("escalation")},
        "denied": [e["action"]["tool"] for e in trace if e["status"] == "denied"],
        "rounds": len(trace),
        "refunds": len(REFUNDS),
    }


if __name__ == "__main__":
    print(main())
