"""Typed triage: a reasoner's reply checked into a tagged union, routed by ``|``, fanned out with ``&``.

Run it (no model needed: ``dry_run`` fakes the reasoner)::

    .venv/bin/python examples/typed_triage.py

Type-check it (strict, with the plugin; the repo's mypy.ini enables it)::

    .venv/bin/mypy --strict examples/typed_triage.py

What mypy sees: ``flow`` is a ``Branching[str, Summary]`` (the ``|`` makes it
Branching; the ``&`` and ``>>`` do not widen it further), so passing it where a
``Pipeline`` is required is a type error, and ``result.value`` is a
``Summary``. The model's reply is ``Any`` until ``as_type(Urgent, Routine)``
checks it at run time: that explicit crossing is the only place ``Any`` enters.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

from composable_agents import Reasoner, as_type, deploy, pure, think, tool
from composable_agents.typed import Branching


class Ticket(TypedDict):
    id: str
    text: str


class Urgent(TypedDict):
    kind: Literal["urgent"]
    ticket: str
    reason: str


class Routine(TypedDict):
    kind: Literal["routine"]
    ticket: str
    queue: str


class Handled(TypedDict):
    ticket: str
    action: str


class Summary(TypedDict):
    ticket: str
    action: str
    mood: float


_TICKETS: dict[str, str] = {
    "T-1": "The checkout page is down for every customer!",
    "T-2": "Please update the billing address on my invoice.",
}


@tool(effect="read", idempotent=True)
def load_ticket(ticket_id: str) -> Ticket:
    return {"id": ticket_id, "text": _TICKETS.get(ticket_id, "")}


@tool(effect="external", idempotent=True)
def page_oncall(alert: Urgent) -> Handled:
    return {"ticket": alert["ticket"], "action": f"paged on-call: {alert['reason']}"}


@tool(effect="write", idempotent=True)
def enqueue(item: Routine) -> Handled:
    return {"ticket": item["ticket"], "action": f"queued to {item['queue']}"}


@tool(effect="read", idempotent=True)
def mood(ticket: Ticket) -> float:
    return -1.0 if "!" in ticket["text"] else 0.5


@pure("typed_triage.summarize")
def summarize(pair: tuple[Handled, float]) -> Summary:
    handled, score = pair
    return {"ticket": handled["ticket"], "action": handled["action"], "mood": score}


classify = Reasoner(
    "typed_triage.classify",
    "claude-haiku-4-5",
    system="Classify the ticket as urgent (with a reason) or routine (with a queue).",
    prompt=Ticket,
)
"""Typed prompt, untyped reply: the reply is checked by ``as_type`` below."""

decide = think(classify) >> as_type(Urgent, Routine) >> (page_oncall | enqueue)
flow: Branching[str, Summary] = load_ticket >> (decide & mood) >> summarize


def fake_classifier(*args: Any, **kwargs: Any) -> dict[str, str]:
    """Stands in for the model: receives what the reasoner activity would, returns a reply."""
    del kwargs
    ticket = next(a for a in reversed(args) if isinstance(a, dict))
    if "down" in ticket["text"]:
        return {"kind": "urgent", "ticket": ticket["id"], "reason": "checkout outage"}
    return {"kind": "routine", "ticket": ticket["id"], "queue": "billing"}


def main() -> None:
    deployment = deploy(flow)
    print(f"shape: {flow.surface_shape}; static class: {type(flow).__name__}")
    for ticket_id in ("T-1", "T-2"):
        result = deployment.dry_run(ticket_id, reasoners={classify.name: fake_classifier})
        summary: Summary = result.value
        print(f"{ticket_id}: {summary['action']} (mood {summary['mood']:+.1f})")
    bad = deployment.dry_run("T-1", reasoners={classify.name: lambda *a, **k: {"kind": "panic"}})
    print(f"bad reply -> {bad.status}: {bad.detail}")


if __name__ == "__main__":
    main()
