"""What several verbs share: the common options, the selection, the input value, the server address.

Every verb takes ``-m/--module`` and ``--path`` (so ``ca ls -m app`` and
``ca -m app ls`` are not two dialects: only the former exists), listing verbs
take ``--format``, durable verbs ``--address``, the worker verbs (``dev``,
``worker``) ``--fake``/``--live``/``--task-queue``. The option objects live
here once; the verbs annotate their parameters with them.

Rejected: global options on the typer callback (they would have to precede
the verb, which reads backwards next to ``git``/``dbt`` habits).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from composable_agents.cli.console import FAILED, USAGE, abort, console

__all__ = [
    "Address",
    "Env",
    "Exclude",
    "Format",
    "Modules",
    "PathOpt",
    "Selectors",
    "TaskQueue",
    "WorkerFakes",
    "WorkerLive",
    "check_format",
    "connect",
    "load",
    "parse_input",
    "print_result",
    "resolve_address",
    "select_entries",
    "strict_deployment",
]

Modules = Annotated[
    list[str] | None,
    typer.Option("-m", "--module", help="Import this module (repeatable); replaces the project's modules."),
]
PathOpt = Annotated[
    Path | None, typer.Option("--path", help="Find the project from this directory instead of the working one.")
]
Selectors = Annotated[list[str] | None, typer.Argument(help="Selectors: NAME, tag:T, state:modified, +NAME, NAME+, @NAME, a,b.")]
Exclude = Annotated[list[str] | None, typer.Option("--exclude", help="Drop what this selector selects (repeatable).")]
Env = Annotated[str | None, typer.Option("--env", help="The ledger environment (for state:modified).")]
Format = Annotated[str, typer.Option("--format", help="Output format: text or json.")]
WorkerFakes = Annotated[
    list[str] | None, typer.Option("--fake", help="REASONER=module:fn served by the worker.")
]
WorkerLive = Annotated[bool, typer.Option("--live", help="Serve reasoners with models.router().")]
TaskQueue = Annotated[str | None, typer.Option("--task-queue", help="The worker's task queue.")]
Address = Annotated[
    str | None,
    typer.Option("--address", help="Temporal HOST:PORT (default: $TEMPORAL_ADDRESS, else the one `ca dev` wrote)."),
]


def load(path: Path | None, modules: list[str] | None) -> Any:
    """The loaded :class:`~composable_agents.cli.project.Project`."""
    from composable_agents.cli.project import load_project

    return load_project(path, modules or ())


def check_format(fmt: str, allowed: tuple[str, ...] = ("text", "json")) -> str:
    """``fmt`` if it is one of ``allowed`` (exit 2 otherwise)."""
    if fmt not in allowed:
        abort(f"--format {fmt!r}: choose one of {', '.join(allowed)}", USAGE)
    return fmt


def select_entries(project: Any, selectors: list[str] | None, exclude: list[str] | None, env: str | None) -> list[Any]:
    """The entries a verb's selectors choose (exit 2 with a caret under a malformed one)."""
    from composable_agents.cli.selectors import SelectorError, caret, select

    def modified() -> set[str]:
        if env is None:
            abort("state:modified compares with a ledger environment: pass --env ENV", USAGE)
        from composable_agents.cli.ledger import read_ledger

        deployed = read_ledger(project.config.ledger)["envs"].get(env, {})
        return {
            name
            for name, entry in project.entries.items()
            if deployed.get(name, {}).get("artifact_hash") != project.artifact_hash(entry)
        }

    try:
        names = select(
            selectors or [],
            tags={n: e.tags for n, e in project.entries.items()},
            deps={n: e.dependencies for n, e in project.entries.items()},
            exclude=exclude or [],
            modified=modified,
        )
    except SelectorError as exc:
        abort(caret(exc), USAGE)
    return [project.entries[n] for n in names]


def strict_deployment(project: Any, name: str) -> Any:
    """The deployment ``ca run``/``ca trigger`` start (exit 2 for a session, exit 1 when it blocks)."""
    entry = project.get(name)
    if entry.kind == "session":
        abort(f"{name} is a session: talk to it with `ca chat {name}`", USAGE)
    dep = project.deployment(entry)
    if dep.blocking:
        from composable_agents.compiler.diagnostics import explain

        abort(f"{name} does not pass a strict deploy:\n{explain(dep.blocking)}", FAILED)
    return dep


def print_result(result: Any, *, styled: bool = False) -> None:
    """A finished run's ``status:`` line, then its ``value:`` (ok) or ``detail:`` (``styled``: green/red status)."""
    ok = result.status == "ok"
    console.line(f"status: {result.status}", style=("green" if ok else "red") if styled else None)
    if ok:
        console.line(f"value: {json.dumps(result.raw_value, ensure_ascii=False)}")
    else:
        console.line(f"detail: {json.dumps(result.detail, ensure_ascii=False, default=str)}")


def parse_input(text: str | None) -> Any:
    """``--input``: JSON text, or ``@file`` holding JSON (``None`` when omitted)."""
    if text is None:
        return None
    source = "--input"
    if text.startswith("@"):
        path = Path(text[1:])
        if not path.is_file():
            abort(f"--input {text}: no such file", USAGE)
        source = str(path)
        text = path.read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        abort(f"{source} is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", USAGE)


def resolve_address(address: str | None, root: Path | None = None) -> str:
    """``--address``, else ``$TEMPORAL_ADDRESS``, else the address in ``.ca/dev.json``."""
    if address:
        return address
    env = os.environ.get("TEMPORAL_ADDRESS")
    if env:
        return env
    from composable_agents.cli.project import _nearest_pyproject

    start = root or Path.cwd()
    pyproject = _nearest_pyproject(start)
    base = pyproject.parent if pyproject is not None else start
    dev = base / ".ca" / "dev.json"
    if dev.is_file():
        doc = json.loads(dev.read_text(encoding="utf-8"))
        found = doc.get("address")
        if isinstance(found, str):
            return found
    abort("no Temporal server: pass --address HOST:PORT, set TEMPORAL_ADDRESS, or start one with `ca dev`", USAGE)


async def connect(address: str) -> Any:
    """A Temporal client for ``address`` (exit 2 without the temporal extra, exit 1 when nothing answers)."""
    import importlib.util

    if importlib.util.find_spec("temporalio") is None:
        abort("the durable verbs need the temporal extra: pip install 'composable-agents[temporal]'", USAGE)
    from composable_agents.temporal.operate import connect as connect_to
    from composable_agents.temporal.operate import core_logs_to_stderr

    core_logs_to_stderr()
    try:
        return await connect_to(address)
    except Exception as exc:  # noqa: BLE001 - any connection failure is reported the same way
        abort(f"cannot reach Temporal at {address}: {exc}")
