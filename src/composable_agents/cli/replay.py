"""``ca replay WORKFLOW_ID | --history FILE``: replay a run's history against the code now; exit 1 on nondeterminism.

The project's modules are imported first (their pures and tools are what the
replay checks); the history comes from the server (``--address``) or from a
JSON file (``temporal workflow show --output json``, or what
``WorkflowHistory.to_json()`` wrote). The artifact rides in the history's
input, so no deployment is needed.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer

from composable_agents.cli.common import Address, Modules, PathOpt, connect, load, resolve_address
from composable_agents.cli.console import FAILED, USAGE, abort, console

__all__ = ["replay", "replay_history"]


async def replay_history(project: Any, history: Any) -> str | None:
    """Replay ``history`` with the project's code; the failure's text, or ``None`` when it replays cleanly."""
    from composable_agents.temporal.operate import replay_history as replay_with

    return await replay_with(history, modules=project.config.modules)


def replay(
    workflow_id: Annotated[str | None, typer.Argument(help="A workflow id on the server.")] = None,
    history_file: Annotated[Path | None, typer.Option("--history", help="A history JSON file.")] = None,
    address: Address = None,
    modules: Modules = None,
    path: PathOpt = None,
) -> None:
    """Replay a durable run's history with the current code; exit 1 on nondeterminism."""
    if (workflow_id is None) == (history_file is None):
        abort("give a WORKFLOW_ID or --history FILE (one of them)", USAGE)
    import importlib.util

    if importlib.util.find_spec("temporalio") is None:
        abort("replay needs the temporal extra: pip install 'composable-agents[temporal]'", USAGE)
    from composable_agents.temporal.operate import RunNotFound, fetch_history, load_history

    project = load(path, modules)

    async def main() -> tuple[str, str | None]:
        if history_file is not None:
            if not history_file.is_file():
                abort(f"--history {history_file}: no such file", USAGE)
            history = load_history(history_file)
        else:
            assert workflow_id is not None
            client = await connect(resolve_address(address, project.config.root))
            try:
                history = await fetch_history(client, workflow_id)
            except RunNotFound as exc:
                abort(str(exc), USAGE)
        return history.workflow_id, await replay_history(project, history)

    wid, failure = asyncio.run(main())
    if failure is not None:
        abort(f"nondeterminism replaying {wid}: {failure}", FAILED)
    console.line(f"replayed {wid}: deterministic")
