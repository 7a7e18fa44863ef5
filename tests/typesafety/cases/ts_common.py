"""Shared leaves for the typesafety cases (type-checked only, never run)."""

from typing import Literal, TypedDict

from composable_agents import Reasoner, pure, tool


class Query(TypedDict):
    q: str


class Urgent(TypedDict):
    kind: Literal["urgent"]
    reason: str


class Routine(TypedDict):
    kind: Literal["routine"]
    queue: str


@tool(effect="read")
def lookup(query: Query) -> list[str]:
    return [query["q"]]


@tool(effect="read")
def count(hits: list[str]) -> int:
    return len(hits)


@tool(effect="read")
def render(n: int) -> str:
    return str(n)


@tool(effect="read")
def page(ticket: Urgent) -> str:
    return ticket["reason"]


@tool(effect="read")
def enqueue(ticket: Routine) -> int:
    return len(ticket["queue"])


@tool(effect="read")
def shout(text: str) -> str:
    return text.upper()


@tool(effect="write")
def file_ticket(title: str, priority: int) -> str:
    return f"{title}:{priority}"


@pure("ts.total")
def total(xs: list[int]) -> int:
    return sum(xs)


summarize = Reasoner("ts_summarize", "m", reply=Urgent)
"""A reasoner without a prompt type: its input is Any."""

triage = Reasoner("ts_triage", "m", prompt=Query, reply=Routine)
"""A reasoner with both ends typed."""
