"""``ca gates`` / ``ca approve RUN_ID GATE`` / ``ca reject RUN_ID GATE``: human gates of durable runs.

``gates`` lists open gates of the given runs, or of every running flow or
agent workflow on the server. ``approve``/``reject`` send the decision
(``submitHuman``); a gate that is not open exits 1.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import typer

from composable_agents.cli.common import (
    Address,
    Format,
    PathOpt,
    check_format,
    connect,
    resolve_address,
)
from composable_agents.cli.console import FAILED, abort, console

__all__ = ["approve", "decide", "gates", "open_gates", "reject"]

_GATED_WORKFLOWS = ("FlowWorkflow", "AgentWorkflow")


async def open_gates(address: str, run_ids: list[str]) -> list[dict[str, Any]]:
    """``[{"run_id", "gate"}]`` for every open gate of ``run_ids`` (all running gated workflows when empty)."""
    from composable_agents.temporal.gates_client import list_open_gates

    client = await connect(address)
    ids = list(run_ids)
    if not ids:
        from composable_agents.temporal.operate import running_workflows

        ids = await running_workflows(client, _GATED_WORKFLOWS)
    rows = []
    for rid in sorted(ids):
        try:
            found = await list_open_gates(client, rid)
        except Exception as exc:  # noqa: BLE001 - one unreachable run must not hide the others
            if run_ids:
                abort(f"cannot list the gates of {rid!r}: {exc}")
            continue
        rows += [{"run_id": rid, "gate": g} for g in found]
    return rows


async def decide(address: str, run_id: str, gate: str, *, approved: bool, reason: str | None, by: str | None) -> None:
    """Approve or reject the open gate ``gate`` of ``run_id`` (exit 1 when it is not open)."""
    from composable_agents.temporal.gates_client import GateNotOpen, answer_gate

    client = await connect(address)
    try:
        await answer_gate(client, run_id, gate, approved=approved, reason=reason, by=by)
    except GateNotOpen as exc:
        abort(str(exc))
    except Exception as exc:  # noqa: BLE001 - an unknown run surfaces as an RPC error
        abort(f"cannot answer gate {gate!r} of {run_id!r}: {exc}", FAILED)


def gates(
    run_ids: Annotated[list[str] | None, typer.Argument(help="Runs to look at (default: every running one).")] = None,
    fmt: Format = "text",
    address: Address = None,
    path: PathOpt = None,
) -> None:
    """List the human gates waiting for a decision."""
    check_format(fmt)
    rows = asyncio.run(open_gates(resolve_address(address, path), run_ids or []))
    if fmt == "json":
        console.json(rows)
    elif not rows:
        console.line("no open gates")
    else:
        console.table(["RUN", "GATE"], [[r["run_id"], r["gate"]] for r in rows])


Reason = Annotated[str | None, typer.Option("--reason", help="Why (kept in the decision record).")]
By = Annotated[str | None, typer.Option("--by", help="Who decided (default: $USER).")]


def _who(by: str | None) -> str | None:
    import os

    return by or os.environ.get("USER")


def approve(
    run_id: Annotated[str, typer.Argument(help="The run.")],
    gate: Annotated[str, typer.Argument(help="The gate's activation id (from `ca gates`).")],
    reason: Reason = None,
    by: By = None,
    address: Address = None,
    path: PathOpt = None,
) -> None:
    """Approve an open human gate: the run goes on with the gate's input."""
    asyncio.run(decide(resolve_address(address, path), run_id, gate, approved=True, reason=reason, by=_who(by)))
    console.line(f"approved {gate} of {run_id}")


def reject(
    run_id: Annotated[str, typer.Argument(help="The run.")],
    gate: Annotated[str, typer.Argument(help="The gate's activation id (from `ca gates`).")],
    reason: Reason = None,
    by: By = None,
    address: Address = None,
    path: PathOpt = None,
) -> None:
    """Reject an open human gate: the run ends with status rejected."""
    asyncio.run(decide(resolve_address(address, path), run_id, gate, approved=False, reason=reason, by=_who(by)))
    console.line(f"rejected {gate} of {run_id}")
