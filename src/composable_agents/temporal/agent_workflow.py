"""``AgentWorkflow``: the ``app`` loop in its own history, continuing as new every N rounds.

A deployment whose root is an ``app`` (an ``Agent``, or ``app(...)`` itself)
runs as an ``AgentWorkflow``; an agent reached through ``sub`` in a flow runs
as a child ``AgentWorkflow``. The loop is the same compiled loop
``dry_run`` executes (:func:`composable_agents.execution.agent_runtime.compile_app`):
same closed action vocabulary, same denials, same budget pre-checks. The only
difference is the Env: it sets ``agent_continue_after`` to the payload's
``cn`` (``AgentConfig.continue_as_new_after``), so every ``cn`` rounds the
loop raises ``AgentContinue`` with its resume state (input, trace, last
observation, round, spend, start time) and the workflow continues as new with
that state, the capability ledger's usage, the principal and the projection so
far. An ``app`` node *inside* a larger flow runs inline in that flow's
history (bounded by its ``max_rounds``); see ``docs/temporal.md``.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from composable_agents.temporal import env as _impl

__all__ = ["AgentWorkflow"]


@workflow.defn(name="AgentWorkflow")
class AgentWorkflow:
    """The bounded agent loop of a root-``app`` artifact, segmented by continue-as-new."""

    def __init__(self) -> None:
        self._run = _impl.FlowRun()

    @workflow.run
    async def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Run the agent on ``payload["v"]`` (or resume it from ``{"__agent_resume__": ...}``)."""
        return await _impl.run_flow(payload, self._run, agent=True)

    @workflow.signal(name="submitHuman")
    def submit_human(self, decision: dict[str, Any]) -> None:
        """A human decision for the gate at ``decision["activation"]``."""
        self._run.submit(decision)

    @workflow.query(name="projection")
    def projection(self) -> dict[str, Any]:
        """The projection recorded so far (including earlier segments)."""
        return self._run.projection_json()

    @workflow.query(name="openGates")
    def open_gates(self) -> list[str]:
        """Activation ids parked on a human gate."""
        return self._run.open_gates()
