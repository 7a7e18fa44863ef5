"""``ca trace RUN_ID``: a recorded run as a tree, or ``--html OUT`` as one self-contained page.

Reads the project's trace store (SPEC §20). The page comes from
``composable_agents.integrations.render.render_trace_html``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from composable_agents.cli.common import Format, Modules, PathOpt, check_format
from composable_agents.cli.console import USAGE, abort, console

if TYPE_CHECKING:
    from composable_agents.integrations.runs import RunRecord

__all__ = ["fetch_run", "run_records", "trace"]


def fetch_run(config: Any, run_id: str) -> RunRecord:
    """The stored run ``run_id`` (exit 2 when the store has no such run)."""
    from composable_agents.cli.runs import open_store

    with open_store(config) as store:
        run = store.get_run(run_id)
    if run is None:
        abort(f"no run {run_id!r} in the trace store {config.store}", USAGE)
    return run


def run_records(run: RunRecord) -> list[dict[str, Any]]:
    """The run's activations in tree order (by activation path), with values inlined where stored."""
    records = [dict(e) for e in run.events]

    def key(record: dict[str, Any]) -> list[Any]:
        node = str(record.get("activation", "$")).split("[", 1)[0]
        return [int(p) if p.isdigit() else -1 for p in node.split(".")[1:]]

    records.sort(key=key)
    return records


def trace(
    run_id: Annotated[str, typer.Argument(help="The run id `ca run` printed.")],
    html: Annotated[Path | None, typer.Option("--html", help="Write a self-contained HTML page here.")] = None,
    fmt: Format = "text",
    modules: Modules = None,
    path: PathOpt = None,
) -> None:
    """Show a recorded run as a tree (or write it as an HTML page with --html OUT)."""
    from composable_agents.cli.live import indented_line
    from composable_agents.cli.project import find_config

    check_format(fmt)
    config = find_config(path, modules or ())
    run = fetch_run(config, run_id)
    if html is not None:
        from composable_agents.integrations.render import render_trace_html

        html.write_text(render_trace_html(run), encoding="utf-8")
        console.line(f"wrote {html}")
        return
    records = run_records(run)
    if fmt == "json":
        console.json({"run_id": run_id, "status": run.status, "events": records})
        return
    console.line(f"run {run_id}  flow {run.flow or '-'}  status {run.status or '-'}")
    for record in records:
        console.line(indented_line(record, rich=console.is_terminal))
