"""Tagged flows: triage (a reasoner), escalate (depends on triage through sub), a gated refund, an unsafe refund."""

from __future__ import annotations

from composable_agents import Reasoner, flow, human_gate, sub, think
from support.tools import issue_refund, lookup_ticket, notify, ticket_prompt

support_reply = Reasoner(
    name="support_reply",
    model="anthropic:claude-haiku-4-5-20251001",
    system="Draft one concise support reply as JSON.",
)


@flow(name="triage.v1", tags=("support",))
def triage(ticket: str) -> dict[str, str]:
    hit = lookup_ticket(ticket)
    prompt = ticket_prompt(hit)
    answer = think(support_reply, prompt)
    return hit | answer


escalate = (sub("triage.v1") >> notify).named("escalate.v1", tags=("support", "ops"))

refund = (human_gate(prompt="Refund this order?", timeout_s=600) >> issue_refund).named("refund.v1", tags=("billing",))


@flow(tags=("billing",))
def quick_refund(order: str) -> dict[str, str]:
    return issue_refund(order)
