"""``from composable_agents.typed import ...``: the typed composition surface (a thin re-export)."""

from composable_agents.authoring.typed import (
    Arrow,
    Branching,
    Dataflow,
    Feedback,
    Pipeline,
    Staged,
    as_flow,
    as_type,
    choice,
    each,
    expect,
    fanout,
    seq,
)
from composable_agents.execution.result import Result

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
