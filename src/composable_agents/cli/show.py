"""``ca show NAME``: one entry in full: kind, shape, tags, dependencies and dependents, artifact hash, diagnostics."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from composable_agents.cli.common import Format, Modules, PathOpt, check_format, load
from composable_agents.cli.console import console

__all__ = ["describe", "show"]


def describe(project: Any, name: str) -> dict[str, Any]:
    """Everything ``ca show`` prints about ``name``, as JSON."""
    entry = project.get(name)
    dep = project.deployment(entry)
    doc: dict[str, Any] = entry.to_json()
    doc["dependents"] = sorted(project.dependents().get(name, ()))
    doc["closed_shape"] = str(dep.closed_shape)
    doc["artifact_hash"] = dep.artifact_hash
    doc["tools"] = sorted(dep.frozen.tools)
    doc["reasoners"] = sorted(dep.frozen.reasoners)
    doc["diagnostics"] = [
        {"code": d.code, "severity": str(d.severity), "node": d.node_id, "message": d.message}
        for d in dep.diagnostics
    ]
    return doc


def show(
    name: Annotated[str, typer.Argument(help="The entry to show.")],
    fmt: Format = "text",
    modules: Modules = None,
    path: PathOpt = None,
) -> None:
    """Show one flow, agent or session in full."""
    check_format(fmt)
    doc = describe(load(path, modules), name)
    if fmt == "json":
        console.json(doc)
        return
    for key in ("name", "kind", "shape", "closed_shape", "module", "artifact_hash"):
        console.line(f"{key + ':':<15}{doc[key]}")
    for key in ("tags", "dependencies", "dependents", "tools", "reasoners"):
        console.line(f"{key + ':':<15}{', '.join(doc[key]) or '-'}")
    if doc["diagnostics"]:
        console.line("diagnostics:")
        for d in doc["diagnostics"]:
            console.line(f"  [{d['code']}@{d['node']}] {d['severity']}: {d['message']}")
