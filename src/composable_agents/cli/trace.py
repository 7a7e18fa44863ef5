"""``ca trace RUN_ID``: a recorded run as a tree, or ``--html OUT`` as one self-contained page.

Reads the project's trace store (SPEC §20). The page comes from
``composable_agents.integrations.render.render_trace_html``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from composable_agents.cli.common import Format, Modules, PathOpt, check_format
from composable_agents.cli.console import USAGE, abort, console

__all__ = ["fetch_run", "run_records", "trace"]


def fetch_run(config: Any, run_id: str) -> Any:
    """The stored run ``run_id`` (exit 2 when the store has no such run)."""
    from composable_agents.cli.runs import open_store

    store = open_store(config, required=True)
    try:
        run = store.get_run(run_id)
    except KeyError:
        run = None
    finally:
        close = getattr(store, "close", None)
        if close is not None:
            close()
    if run is None:
        abort(f"no run {run_id!r} in the trace store {config.store}", USAGE)
    return run


def _field(run: Any, key: str) -> Any:
    if isinstance(run, dict):
        return run.get(key)
    return getattr(run, key, None)


def run_records(run: Any) -> list[dict[str, Any]]:
    """The run's activations in tree order (by activation path), with values inlined where stored."""
    events = _field(run, "events")
    if events is None and _field(run, "projection") is not None:
        events = _field(_field(run, "projection"), "events")
    records = [dict(e) for e in (events or [])]

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
    from composable_agents.cli.live import line_of
    from composable_agents.cli.project import find_config

    check_format(fmt)
    config = find_config(path, modules or ())
    run = fetch_run(config, run_id)
    if html is not None:
        try:
            from composable_agents.integrations.render import render_trace_html  # type: ignore[import-not-found, unused-ignore]
        except ImportError as exc:
            abort(f"--html needs composable_agents.integrations.render: {exc}", USAGE)
        html.write_text(render_trace_html(run), encoding="utf-8")
        console.line(f"wrote {html}")
        return
    records = run_records(run)
    if fmt == "json":
        console.json({"run_id": run_id, "status": _field(run, "status"), "events": records})
        return
    console.line(f"run {run_id}  flow {_field(run, 'flow') or '-'}  status {_field(run, 'status') or '-'}")
    for record in records:
        depth = str(record.get("activation", "$")).split("[", 1)[0].count(".")
        console.line("  " * depth + line_of(record, rich=console.is_terminal))
