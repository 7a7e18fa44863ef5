"""``ca lint``: deploy every selected entry without raising and report its diagnostics (exit 1 on a blocking one)."""

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
from composable_agents.cli.console import FAILED, abort, console

__all__ = ["lint", "lint_entries"]


def lint_entries(project: Any, entries: list[Any]) -> list[dict[str, Any]]:
    """Per entry: its name, whether it blocks, and every diagnostic (``explain``'s text included)."""
    from composable_agents.compiler.diagnostics import explain

    out = []
    for entry in entries:
        diags = list(project.deployment(entry).diagnostics)
        out.append({
            "name": entry.name,
            "blocking": any(d.blocking for d in diags),
            "diagnostics": [
                {"code": d.code, "severity": str(d.severity), "node": d.node_id, "message": d.message, "hint": d.hint}
                for d in diags
            ],
            "explain": explain(diags) if diags else "",
        })
    return out


def lint(
    selectors: Selectors = None,
    exclude: Exclude = None,
    env: Env = None,
    fmt: Format = "text",
    modules: Modules = None,
    path: PathOpt = None,
) -> None:
    """Check the selected entries as a strict deploy would; exit 1 on any blocking diagnostic."""
    check_format(fmt)
    project = load(path, modules)
    report = lint_entries(project, select_entries(project, selectors, exclude, env))
    failed = [r["name"] for r in report if r["blocking"]]
    if fmt == "json":
        console.json(report)
    else:
        for r in report:
            if not r["diagnostics"]:
                console.line(f"ok    {r['name']}", style="green")
                continue
            console.line(f"{'FAIL' if r['blocking'] else 'warn'}  {r['name']}", style="red" if r["blocking"] else "yellow")
            for text in r["explain"].splitlines():
                console.line(f"      {text}")
        console.line(f"{len(report)} checked, {len(failed)} blocking")
    if failed:
        abort(f"blocking diagnostics in: {', '.join(failed)}", FAILED)
