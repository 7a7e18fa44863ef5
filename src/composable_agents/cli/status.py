"""``ca status --env ENV``: what the ledger says is deployed, against the code; exit 3 on any drift.

States: ``ok`` (same artifact hash), ``modified`` (the code's hash differs) and
``removed`` (deployed, but no longer in the code). :func:`status_rows` is the
behaviour.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from composable_agents.cli.common import Format, Modules, PathOpt, check_format, load
from composable_agents.cli.console import DRIFT, abort, console

__all__ = ["status", "status_rows"]


def status_rows(project: Any, env: str) -> list[dict[str, Any]]:
    """One row per entry deployed to ``env``: name, deployed and current hash, state, time, git sha."""
    from composable_agents.cli.ledger import drift, read_ledger

    deployed = read_ledger(project.config.ledger)["envs"].get(env, {})
    current = {name: project.artifact_hash(project.entries[name]) for name in deployed if name in project.entries}
    states = drift(deployed, current)
    return [
        {
            "name": name,
            "state": states[name],
            "deployed_hash": row.get("artifact_hash"),
            "current_hash": current.get(name),
            "deployed_at": row.get("deployed_at"),
            "git_sha": row.get("git_sha"),
        }
        for name, row in sorted(deployed.items())
    ]


def _short(digest: str | None) -> str:
    return digest[:19] if digest else "-"


def status(
    env: Annotated[str, typer.Option("--env", help="The ledger environment to compare with.")] = "dev",
    fmt: Format = "text",
    modules: Modules = None,
    path: PathOpt = None,
) -> None:
    """Compare the ledger of --env with the code; exit 3 when anything drifted."""
    check_format(fmt)
    project = load(path, modules)
    rows = status_rows(project, env)
    if fmt == "json":
        console.json({"env": env, "entries": rows})
    elif not rows:
        console.line(f"nothing deployed to {env}")
    else:
        console.table(
            ["NAME", "STATE", "DEPLOYED", "CURRENT", "AT", "GIT"],
            [[r["name"], r["state"], _short(r["deployed_hash"]), _short(r["current_hash"]), r["deployed_at"] or "-",
              (r["git_sha"] or "-")[:10]] for r in rows],
        )
    drifted = [r["name"] for r in rows if r["state"] != "ok"]
    if drifted:
        abort(f"drift in {env}: {', '.join(drifted)}", DRIFT)
