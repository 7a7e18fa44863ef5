"""``Result[O]``: what every run returns, locally and on Temporal."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Generic, Literal, TypeVar

from composable_agents.core.canonical import Json, JsonObject
from composable_agents.errors import (
    AllBranchesFailed,
    BudgetExceeded,
    RunError,
    RunStopped,
    StepFailed,
)
from composable_agents.execution.projection import Projection

__all__ = ["STATUSES", "Result", "Status", "error_type", "status_of"]

O = TypeVar("O", covariant=True)  # noqa: PLC0105 - O is the public name of the output type

Status = Literal[
    "ok",
    "rejected",
    "timeout",
    "escalated",
    "over_budget",
    "max_rounds",
    "controller_error",
    "plan_rejected",
    "failed",
]
STATUSES: Final[tuple[str, ...]] = (
    "ok",
    "rejected",
    "timeout",
    "escalated",
    "over_budget",
    "max_rounds",
    "controller_error",
    "plan_rejected",
    "failed",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Result(Generic[O]):
    """The outcome of a run.

    ``status`` is ``"ok"`` or why the run ended otherwise; ``value`` is the
    typed output (reading it on any other status raises :class:`RunError`
    naming the status); ``detail`` is a JSON record explaining a non-ok status;
    ``projection`` explains every step; ``cost`` sums the run's spend.
    """

    status: Status
    raw_value: Json = None
    detail: JsonObject | None = None
    projection: Projection = field(default_factory=lambda: Projection([]))
    cost: float = 0.0
    run_id: str = ""
    usage: JsonObject | None = None
    segments: int = 1
    error: BaseException | None = field(default=None, repr=False, compare=False)
    decoded: Any = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        """True when ``status == "ok"``."""
        return self.status == "ok"

    @property
    def value(self) -> O:
        """The run's output, typed ``O``; :class:`RunError` unless the status is ``"ok"``."""
        if self.status != "ok":
            err = RunError(self.status, self.detail)
            if self.error is not None:
                raise err from self.error
            raise err
        return self.decoded if self.decoded is not None else self.raw_value  # type: ignore[no-any-return]


def status_of(exc: BaseException) -> tuple[Status, JsonObject]:
    """The ``Result`` status and detail record for a run that ended with ``exc``.

    * :class:`~composable_agents.errors.RunStopped` (a rejected or timed-out
      human gate, the agent loop, ``stage``) → its own ``status`` and ``detail``;
    * :class:`~composable_agents.errors.BudgetExceeded` (a ``maxCalls`` counter
      or the cost/token/wall budget refused a spend) → ``"over_budget"`` with
      ``{"limit", "used", "allowed", "step", "tool"?}``;
    * anything else (including ``AllBranchesFailed`` and a strict run's
      ``CapabilityDenied`` for an unapproved tool) → ``"failed"`` with
      ``{"error", "message", ...}``.
    """
    if isinstance(exc, RunStopped):
        return exc.status, dict(exc.detail)  # type: ignore[return-value]
    detail: JsonObject = {"error": error_type(exc), "message": str(exc)}
    for attr in ("node_id", "activation", "step", "path"):
        value = getattr(exc, attr, None)
        if isinstance(value, str):
            detail[attr] = value
    if isinstance(exc, BudgetExceeded):
        extra = getattr(exc, "detail", None)
        if isinstance(extra, dict):
            detail.update(extra)
        return "over_budget", detail
    if isinstance(exc, AllBranchesFailed):
        detail["errors"] = [{"error": error_type(e), "message": str(e)} for e in exc.errors]
    return "failed", detail


def error_type(exc: BaseException) -> str:
    """The ``error`` a failed run reports: the user's exception type for a raising step (SPEC §22.10).

    A tool or reasoner body that raised is wrapped in :class:`StepFailed` (which
    adds where it failed); the detail names what the user raised, e.g.
    ``"ValueError"``, as a worker's activity failure does.
    """
    if isinstance(exc, StepFailed) and exc.__cause__ is not None:
        return type(exc.__cause__).__name__
    return type(exc).__name__
