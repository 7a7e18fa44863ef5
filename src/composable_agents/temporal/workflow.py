"""``FlowWorkflow``: the durable run of a frozen artifact (no import-time side effects).

The workflow class is deliberately thin: the sandbox re-imports this module
for every workflow run, so all logic lives in
:mod:`composable_agents.temporal.env`, which is passed through the
sandbox (imported once per process, with its prepared-program cache).
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from composable_agents.temporal import env as _impl

__all__ = ["FlowWorkflow"]


@workflow.defn(name="FlowWorkflow")
class FlowWorkflow:
    """Walks a frozen IR with the shared interpreter; effects are ``callTool``/``invokeReasoner``."""

    def __init__(self) -> None:
        self._run = _impl.FlowRun()

    @workflow.run
    async def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Run the artifact in ``payload`` on its input; returns ``{"s", "v", "p"?}``."""
        return await _impl.run_flow(payload, self._run)

    @workflow.signal(name="submitHuman")
    def submit_human(self, decision: dict[str, Any]) -> None:
        """A human decision for the gate at ``decision["activation"]``."""
        self._run.submit(decision)

    @workflow.query(name="projection")
    def projection(self) -> dict[str, Any]:
        """The projection recorded so far."""
        return self._run.projection_json()

    @workflow.query(name="openGates")
    def open_gates(self) -> list[str]:
        """Activation ids parked on a human gate."""
        return self._run.open_gates()
