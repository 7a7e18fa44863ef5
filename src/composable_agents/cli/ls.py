"""``ca ls``: list the selected entries (name, kind, shape, tags, dependencies).

The listing is :func:`list_entries`, a plain function over a loaded project;
the verb parses, calls it and renders a table or JSON.
"""

from __future__ import annotations

from typing import Any

from composable_agents.cli.common import (
    Env,
    Exclude,
    Format,
    Modules,
    PathOpt,
    Selectors,
    check_format,
    load,
    select_entries,
)
from composable_agents.cli.console import console

__all__ = ["list_entries", "ls"]


def list_entries(project: Any, selectors: list[str] | None = None, exclude: list[str] | None = None,
                 env: str | None = None) -> list[dict[str, Any]]:
    """The selected entries as JSON records, sorted by name."""
    return [e.to_json() for e in select_entries(project, selectors, exclude, env)]


def ls(
    selectors: Selectors = None,
    exclude: Exclude = None,
    env: Env = None,
    fmt: Format = "text",
    modules: Modules = None,
    path: PathOpt = None,
) -> None:
    """List flows, agents and sessions: name, kind, shape, tags, dependencies."""
    check_format(fmt)
    rows = list_entries(load(path, modules), selectors, exclude, env)
    if fmt == "json":
        console.json(rows)
        return
    console.table(
        ["NAME", "KIND", "SHAPE", "TAGS", "DEPENDS ON"],
        [[r["name"], r["kind"], r["shape"], ",".join(r["tags"]) or "-", ",".join(r["dependencies"]) or "-"] for r in rows],
    )
