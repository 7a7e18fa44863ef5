"""The ``ca`` application: one typer app, one verb per module, one exit path (:func:`main`).

Verbs register here by name; each lives in its own module and imports what it
needs (deploy, temporalio, rich) inside its function, so ``ca ls`` pays only
for discovery. :func:`main` is the only place that turns outcomes into exit
codes: 0 ok, 1 blocking/failed (:data:`~composable_agents.cli.console.FAILED`),
2 usage (click's usage errors and :func:`~composable_agents.cli.console.abort`
with ``USAGE``), 3 drift.

Rejected: ``typer``'s standalone mode, which prints its own framed errors and
calls ``sys.exit`` from deep inside click; we want every error through one console.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import typer

from composable_agents.cli.console import USAGE, CliAbort, console

__all__ = ["build_app", "main"]

_VERBS: tuple[tuple[str, str, str], ...] = (
    ("ls", "composable_agents.cli.ls", "ls"),
    ("graph", "composable_agents.cli.graph", "graph"),
    ("show", "composable_agents.cli.show", "show"),
    ("lint", "composable_agents.cli.lint", "lint"),
    ("run", "composable_agents.cli.run", "run"),
    ("deploy", "composable_agents.cli.deploy", "deploy"),
    ("status", "composable_agents.cli.status", "status"),
    ("dev", "composable_agents.cli.dev", "dev"),
    ("worker", "composable_agents.cli.worker", "worker"),
    ("trigger", "composable_agents.cli.trigger", "trigger"),
    ("listen", "composable_agents.cli.listen", "listen"),
    ("gates", "composable_agents.cli.gates", "gates"),
    ("approve", "composable_agents.cli.gates", "approve"),
    ("reject", "composable_agents.cli.gates", "reject"),
    ("chat", "composable_agents.cli.chat", "chat"),
    ("replay", "composable_agents.cli.replay", "replay"),
    ("trace", "composable_agents.cli.trace", "trace"),
)


def build_app() -> typer.Typer:
    """The typer app with every verb registered."""
    import importlib

    app = typer.Typer(
        name="ca",
        help="ca: the developer CLI for a module of composable agents (dbt for agents).",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )
    for name, module, attr in _VERBS:
        fn = getattr(importlib.import_module(module), attr)
        app.command(name)(fn)
    return app


def main(argv: Sequence[str] | None = None) -> None:
    """Run ``ca`` with ``argv`` (default: ``sys.argv[1:]``) and exit with its code."""
    app = build_app()
    code = 0
    try:
        result = app(args=list(argv) if argv is not None else None, prog_name="ca", standalone_mode=False)
        if isinstance(result, int):
            code = result
    except CliAbort as exc:
        if exc.message:
            console.error(f"error: {exc.message}")
        code = exc.code
    except typer.Exit as exc:
        code = exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        console.error("aborted")
        code = 130
    except Exception as exc:
        # click's usage errors (typer may vendor click, so match the shape, not the class).
        show, exit_code = getattr(exc, "show", None), getattr(exc, "exit_code", None)
        if show is None or not isinstance(exit_code, int):
            raise
        show(file=sys.stderr)
        code = exit_code or USAGE
    if "temporalio" in sys.modules:
        # temporalio's Rust runtime threads can outlive the event loop and abort the interpreter while it
        # finalizes (temporalio/sdk-python#300: "PyGILState_Release ... must be current"). A verb that
        # touched a server has nothing left to clean up here, so skip interpreter teardown.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
