"""The fixture's tools and pures (imported by the flows)."""

from __future__ import annotations

from composable_agents import pure, tool


@tool(effect="read", idempotent=True)
def lookup_ticket(ticket: str) -> dict[str, str]:
    """Find the ticket's queue and runbook summary."""
    return {"ticket": ticket, "queue": "billing", "summary": "Use the duplicate-charge runbook."}


@pure("ticket_prompt")
def ticket_prompt(hit: dict[str, str]) -> dict[str, str]:
    """The reasoner's prompt record."""
    return {"queue": hit["queue"], "context": hit["summary"]}


@tool(effect="read", idempotent=True)
def notify(record: dict[str, str]) -> dict[str, str]:
    """Tell the on-call channel (read-only in the fixture: it only echoes)."""
    return {**record, "notified": "on-call"}


@tool(effect="dangerous", idempotency="required")
def issue_refund(order: str) -> dict[str, str]:
    """Refund an order (dangerous: needs an approving human gate first)."""
    return {"order": order, "refunded": "yes"}
