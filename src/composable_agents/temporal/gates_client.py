"""Client helpers for human gates on durable runs (``FlowWorkflow`` / ``AgentWorkflow``).

    gates = await list_open_gates(client, "ticket-42")        # ["$.1"]
    await answer_gate(client, "ticket-42", "$.1", approved=True, by="ana")

``list_open_gates`` is the ``openGates`` query: exactly the activation ids
parked on a human gate right now (structural ``seq``/``par`` activations never
appear). ``answer_gate`` sends the ``submitHuman`` signal; by default it first
checks that the gate is open and raises :class:`GateNotOpen` otherwise
(``check=False`` sends the decision anyway — a decision for a gate the run has
not reached yet is kept and applied when it gets there).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from composable_agents.core.canonical import Json, JsonObject
from composable_agents.errors import ComposableAgentsError

if TYPE_CHECKING:
    from temporalio.client import Client

__all__ = ["GateNotOpen", "answer_gate", "gate_projection", "list_open_gates"]


class GateNotOpen(ComposableAgentsError, LookupError):
    """``answer_gate`` was asked to decide a gate that is not waiting."""


async def list_open_gates(client: Client, workflow_id: str, *, run_id: str | None = None) -> list[str]:
    """Activation ids of the human gates the run ``workflow_id`` is parked on (sorted)."""
    handle = client.get_workflow_handle(workflow_id, run_id=run_id)
    gates: list[str] = await handle.query("openGates")
    return list(gates)


async def gate_projection(client: Client, workflow_id: str, *, run_id: str | None = None) -> JsonObject:
    """The live projection of the run (the ``projection`` query; ``pending`` lists open gates)."""
    handle = client.get_workflow_handle(workflow_id, run_id=run_id)
    doc: JsonObject = await handle.query("projection")
    return doc


async def answer_gate(
    client: Client,
    workflow_id: str,
    activation: str,
    *,
    approved: bool,
    reason: str | None = None,
    by: str | None = None,
    check: bool = True,
) -> None:
    """Decide the gate at ``activation`` (the ``submitHuman`` signal).

    With ``check`` (the default) the gate must be open (:class:`GateNotOpen` otherwise).
    """
    handle = client.get_workflow_handle(workflow_id)
    if check:
        gates: list[str] = await handle.query("openGates")
        if activation not in gates:
            msg = f"run {workflow_id!r} has no open gate at {activation!r} (open: {gates})"
            raise GateNotOpen(msg)
    decision: dict[str, Json] = {"activation": activation, "approved": bool(approved), "reason": reason, "by": by}
    await handle.signal("submitHuman", decision)


