"""``ca deploy SEL --env ENV``: check the selected entries strictly and record them in the ledger.

All or nothing: when any selected entry has a blocking diagnostic, nothing is
recorded and the verb exits 1 with every diagnostic. :func:`deploy_entries`
is the behaviour; it returns what it recorded.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from composable_agents.cli.common import (
    Exclude,
    Format,
    Modules,
    PathOpt,
    Selectors,
    check_format,
    load,
    select_entries,
)
from composable_agents.cli.console import FAILED, abort, console

__all__ = ["deploy", "deploy_entries"]


def deploy_entries(project: Any, entries: list[Any], env: str) -> dict[str, dict[str, Any]]:
    """Record ``entries`` as deployed to ``env`` (aborts with exit 1 on blocking diagnostics)."""
    from composable_agents.cli.ledger import git_sha, record
    from composable_agents.compiler.diagnostics import explain

    blocked = []
    for entry in entries:
        dep = project.deployment(entry)
        if dep.blocking:
            blocked.append(f"{entry.name}:\n{explain(dep.blocking)}")
    if blocked:
        abort("not deployed; blocking diagnostics in\n" + "\n".join(blocked), FAILED)
    rows = {e.name: (e.kind, project.artifact_hash(e)) for e in entries}
    doc = record(project.config.ledger, env, rows, sha=git_sha(project.config.root))
    return {name: doc["envs"][env][name] for name in rows}


def deploy(
    selectors: Selectors = None,
    env: Annotated[str, typer.Option("--env", help="The environment to record the deployment under.")] = "dev",
    exclude: Exclude = None,
    fmt: Format = "text",
    modules: Modules = None,
    path: PathOpt = None,
) -> None:
    """Freeze and check the selection, then record name, artifact hash, time and git sha in the ledger."""
    check_format(fmt)
    project = load(path, modules)
    entries = select_entries(project, selectors, exclude, env)
    if not entries:
        abort("the selection is empty: nothing to deploy", FAILED)
    done = deploy_entries(project, entries, env)
    if fmt == "json":
        console.json({"env": env, "deployed": done})
        return
    for name, row in done.items():
        console.line(f"deployed {name} to {env}: {row['artifact_hash']}")
