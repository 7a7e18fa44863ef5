"""``from composable_agents.typed import ...``: the typed composition surface (a thin re-export)."""

from composable_agents.authoring.typed import (
    Arrow,
    Branching,
    Dataflow,
    Feedback,
    Pipeline,
    Result,
    Staged,
    as_flow,
    as_type,
    choice,
    each,
    expect,
    fanout,
    seq,
)

__all__ = [
    "Arrow",
    "Branching",
    "Dataflow",
    "Feedback",
    "Pipeline",
    "Result",
    "Staged",
    "as_flow",
    "as_type",
    "choice",
    "each",
    "expect",
    "fanout",
    "seq",
]
