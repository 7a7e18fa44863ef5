"""Climb the ladder, step 5: an approval gate before a dangerous send, in the combinator kernel.

``send_email`` is ``effect="dangerous"``: a strict deploy refuses any path
that reaches it without a ``human_gate`` first (``APPROVAL_UNGATED``). Here
the flow drafts the email with a reasoner, parks on a gate, and sends only on
approval. ``dry_run(gates=...)`` answers the gate locally: an approval passes
the draft through; a rejection (or no answer before the timeout) ends the run
with status ``rejected`` / ``timeout`` and the decision record in ``.detail``.
"""

from __future__ import annotations

from typing import Any, TypedDict

from composable_agents import Reasoner, call, deploy, human_gate, seq, think, tool
from composable_agents.errors import ValidationError

SENT: list[dict[str, Any]] = []


class Draft(TypedDict):
    to: str
    subject: str
    body: str


drafter = Reasoner(
    name="email_drafter",
    model="anthropic:claude-haiku-4-5-20251001",
    system="Draft a short, polite email as JSON {to, subject, body}.",
    reply=Draft,
)


@tool(name="email_send", effect="dangerous", idempotency="required")
def send_email(draft: Draft, *, idempotency_key: str) -> dict[str, Any]:
    """Send once per idempotency key (irreversible: hence the gate)."""
    if not any(s["key"] == idempotency_key for s in SENT):
        SENT.append({"key": idempotency_key, "to": draft["to"], "subject": draft["subject"]})
    return {"sent": True, "to": draft["to"]}


approval_flow = seq(
    think(drafter),
    human_gate(prompt="Send this email?", timeout_s=3600),
    call(send_email),
)
ungated_flow = seq(think(drafter), call(send_email))


def fake_drafter(request: dict[str, Any]) -> Draft:
    return {"to": request["to"], "subject": f"Re: {request['topic']}", "body": "Thanks, we are on it."}


deployment = deploy(approval_flow, tools=[send_email], reasoners=[drafter])


def main() -> dict[str, Any]:
    """Approve one send, reject another, let a third time out; show the strict deploy refusing no gate."""
    SENT.clear()
    request = {"to": "ada@example.com", "topic": "your refund"}
    fakes = {"email_drafter": fake_drafter}
    approved = deployment.dry_run(
        request, reasoners=fakes, gates=lambda view: {"approved": True, "reason": None, "by": "ops@example.com"}
    )
    rejected = deployment.dry_run(
        request, reasoners=fakes, gates={"approved": False, "reason": "wrong tone", "by": "ops@example.com"}
    )
    timed_out = deployment.dry_run(request, reasoners=fakes)
    try:
        deploy(ungated_flow, tools=[send_email], reasoners=[drafter])
        refused: list[str] = []
    except ValidationError as exc:
        refused = sorted({d.code for d in exc.diagnostics})
    return {
        "approved": {"status": approved.status, "value": approved.value},
        "rejected": {"status": rejected.status, "reason": (rejected.detail or {}).get("reason")},
        "timeout": {"status": timed_out.status, "reason": (timed_out.detail or {}).get("reason")},
        "sent": [s["to"] for s in SENT],
        "ungated_deploy": refused,
    }


if __name__ == "__main__":
    print(main())
