"""Execution knobs that are deployment configuration, not program identity."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from composable_agents.core.canonical import JsonObject

__all__ = ["DEFAULT_MAX_SEGMENTS", "DEFAULT_TASK_QUEUE", "AgentConfig", "ExecutionPolicy"]

DEFAULT_TASK_QUEUE: Final = "composable-agents"
"""The task queue ``Deployment.run`` and ``run_worker`` use when none is given."""

DEFAULT_MAX_SEGMENTS: Final = 100
"""Continuation segments a run may use unless its ``ExecutionPolicy`` says otherwise."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutionPolicy:
    """How runs execute: task queue, activity timeouts, read retry shaping, parallelism, type checks.

    ``check_types=False`` turns off boundary checks of tool and pure values
    (reasoner replies and ``as_type``/``expect`` are always checked).
    """

    task_queue: str = DEFAULT_TASK_QUEUE
    start_to_close_s: float = 60.0
    read_max_attempts: int = 3
    initial_interval_s: float = 1.0
    backoff_coefficient: float = 2.0
    max_parallel: int | None = None
    check_types: bool = True
    max_segments: int = DEFAULT_MAX_SEGMENTS
    """Continuation segments one run may use (``std.continue_with``/``reschedule``, an agent's
    continue-as-new), on every backend; one more ends the run ``SegmentLimitExceeded``."""

    def __post_init__(self) -> None:
        if type(self.max_segments) is not int or self.max_segments < 1:
            msg = f"`max_segments` must be an integer >= 1, got {self.max_segments!r}"
            raise ValueError(msg)

    def to_json(self) -> JsonObject:
        """The wire form (part of the artifact hash)."""
        out: JsonObject = {
            "taskQueue": self.task_queue,
            "startToCloseS": self.start_to_close_s,
            "readMaxAttempts": self.read_max_attempts,
            "initialIntervalS": self.initial_interval_s,
            "backoffCoefficient": self.backoff_coefficient,
            "checkTypes": self.check_types,
        }
        if self.max_parallel is not None:
            out["maxParallel"] = self.max_parallel
        if self.max_segments != DEFAULT_MAX_SEGMENTS:  # omitted at the default: older artifact hashes stay
            out["maxSegments"] = self.max_segments
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentConfig:
    """Agent-loop knobs: continue-as-new every ``continue_as_new_after`` rounds (0 disables)."""

    continue_as_new_after: int = 50
