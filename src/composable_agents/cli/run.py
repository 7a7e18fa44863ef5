"""``ca run NAME``: run one entry locally, with a live trace tree, record it in the trace store, print its run id.

:func:`run_entry` is the behaviour (deploy, fakes or ``--live`` router, run
with the activation listener feeding the tree); the verb parses and renders.
Exit 1 when the deployment blocks or the run's status is not ``ok``; exit 2
for a reasoner without ``--fake`` (or ``--live``).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any

import typer

from composable_agents.cli.common import (
    Modules,
    PathOpt,
    load,
    parse_input,
    print_result,
    strict_deployment,
)
from composable_agents.cli.console import FAILED, USAGE, abort, console

__all__ = ["run", "run_entry"]


def run_entry(project: Any, name: str, value: Any, *, fakes: dict[str, Any], llm: Any = None,
              run_id: str | None = None, gate: str | None = None, tree: Any = None) -> Any:
    """Deploy and run ``name`` on ``value``; returns the ``Result`` (aborts on blocking diagnostics)."""
    from composable_agents.cli.live import watch
    from composable_agents.errors import MissingFakeError, ModelNotConfigured

    dep = strict_deployment(project, name)
    reasoners = dict(fakes)
    # With --live, every reasoner without a fake goes to the router (Deployment.arun(llm=...)).
    missing = [] if llm is not None else sorted(set(dep.frozen.reasoners) - set(reasoners))
    if missing:
        abort(f"no fake for reasoner(s) {', '.join(missing)}: pass --fake NAME=module:fn for each, or --live", USAGE)
    gates = None if gate is None else {"approved": gate == "approve", "reason": None, "by": "ca run"}
    rid = run_id or f"{name}-{uuid.uuid4().hex[:12]}"
    try:
        if tree is None:
            return asyncio.run(dep.arun(value, reasoners=reasoners, gates=gates, run_id=rid, llm=llm))
        with watch(tree):
            return asyncio.run(dep.arun(value, reasoners=reasoners, gates=gates, run_id=rid, llm=llm))
    except (MissingFakeError, ModelNotConfigured) as exc:
        abort(str(exc), USAGE)


def run(
    name: Annotated[str, typer.Argument(help="The flow, agent or arrow to run.")],
    input_text: Annotated[str | None, typer.Option("--input", help="The input: JSON, or @file holding JSON.")] = None,
    fake: Annotated[list[str] | None, typer.Option("--fake", help="REASONER=module:fn (repeatable).")] = None,
    live: Annotated[bool, typer.Option("--live", help="Call real models through models.router().")] = False,
    gate: Annotated[str | None, typer.Option("--gate", help="Answer every human gate: approve or reject.")] = None,
    run_id: Annotated[str | None, typer.Option("--run-id", help="The run id (default: NAME-<random>).")] = None,
    modules: Modules = None,
    path: PathOpt = None,
) -> None:
    """Run one entry locally, showing each activation as it completes; records the run and prints its id."""
    from composable_agents.cli.live import TraceTree
    from composable_agents.cli.runs import fakes_from, live_llm, record_run

    if gate not in (None, "approve", "reject"):
        abort(f"--gate {gate!r}: choose approve or reject", USAGE)
    project = load(path, modules)
    value = parse_input(input_text)
    fakes = fakes_from(fake)
    llm = live_llm() if live else None
    with TraceTree(console) as tree:
        result = run_entry(project, name, value, fakes=fakes, llm=llm, run_id=run_id, gate=gate, tree=tree)
    print_result(result, styled=True)
    console.line(f"cost: ${float(result.cost or 0.0):.4f}")
    record_run(project.config, result, name)
    console.line(f"run id: {result.run_id}")
    if result.status != "ok":
        abort("", FAILED)
