"""``ca graph``: the cross-agent DAG, or one flow's own steps (``--steps NAME``), as DOT, Mermaid, JSON or SVG.

Edges point from an entry to what it depends on (the direction of ``+NAME``).
The SVG comes from :mod:`composable_agents.integrations.render` (no external binary).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from composable_agents.cli.common import (
    Env,
    Exclude,
    Modules,
    PathOpt,
    Selectors,
    check_format,
    load,
    select_entries,
)
from composable_agents.cli.console import console

__all__ = ["dag", "graph", "render", "steps"]

FORMATS = ("dot", "mermaid", "json", "svg")


def dag(entries: list[Any]) -> tuple[list[str], list[tuple[str, str]], dict[str, str]]:
    """Nodes, edges (entry -> dependency, both selected) and labels of the selected entries."""
    names = [e.name for e in entries]
    chosen = set(names)
    edges = [(e.name, d) for e in entries for d in e.dependencies if d in chosen]
    labels = {e.name: f"{e.name} ({e.kind})" for e in entries}
    return names, edges, labels


def steps(arrow: Any) -> tuple[list[str], list[tuple[str, str]], dict[str, str]]:
    """Nodes (IR ids), edges (parent -> child) and labels (``op label``) of one flow's frozen steps."""
    from composable_agents.core.codec import walk
    from composable_agents.core.ir import Arr, CallStep, Prim, SubStep, ThinkStep

    nodes: list[str] = []
    edges: list[tuple[str, str]] = []
    labels: dict[str, str] = {}
    for nid, node, parent in walk(arrow.to_ir()):
        nodes.append(nid)
        if parent is not None:
            edges.append((parent, nid))
        text = str(node.OP)
        if isinstance(node, Prim):
            step = node.step
            if isinstance(step, CallStep):
                text = f"call {step.tool}"
            elif isinstance(step, ThinkStep):
                text = f"think {step.reasoner}"
            elif isinstance(step, SubStep):
                text = f"sub {step.ref}"
        elif isinstance(node, Arr):
            text = f"arr {node.pure}"
        labels[nid] = f"{nid} {text}"
    return nodes, edges, labels


def _quote(text: str) -> str:
    return json.dumps(text)


def render(fmt: str, nodes: list[str], edges: list[tuple[str, str]], labels: dict[str, str], *, title: str,
           flow: Any = None, kinds: dict[str, str] | None = None) -> str:
    """The graph as text in ``fmt``."""
    if fmt == "json":
        return json.dumps({"nodes": [{"id": n, "label": labels[n]} for n in nodes],
                           "edges": [{"from": a, "to": b} for a, b in edges]}, indent=2)
    if fmt == "dot":
        lines = [f"digraph {_quote(title)} {{", "  rankdir=TB;", "  node [shape=box];"]
        lines += [f"  {_quote(n)} [label={_quote(labels[n])}];" for n in nodes]
        lines += [f"  {_quote(a)} -> {_quote(b)};" for a, b in edges]
        return "\n".join([*lines, "}"])
    if fmt == "mermaid":
        ids = {n: f"n{i}" for i, n in enumerate(nodes)}
        lines = ["graph TD"]
        lines += [f'  {ids[n]}["{labels[n].replace(chr(34), "#quot;")}"]' for n in nodes]
        lines += [f"  {ids[a]} --> {ids[b]}" for a, b in edges]
        return "\n".join(lines)
    return _svg(nodes, edges, labels, title=title, flow=flow, kinds=kinds)


def _svg(nodes: list[str], edges: list[tuple[str, str]], labels: dict[str, str], *, title: str, flow: Any,
         kinds: dict[str, str] | None = None) -> str:
    from composable_agents.integrations import render as pictures

    if flow is not None:
        return str(pictures.render_flow_svg(flow, title=title))
    items = [{"id": n, "label": labels[n], "kind": (kinds or {}).get(n, "")} for n in nodes]
    return str(pictures.render_dag_svg(items, edges, title=title))


def graph(
    selectors: Selectors = None,
    exclude: Exclude = None,
    env: Env = None,
    fmt: Annotated[str, typer.Option("--format", help="dot, mermaid, json or svg.")] = "dot",
    steps_of: Annotated[str | None, typer.Option("--steps", help="Draw this flow's own steps instead of the DAG.")] = None,
    modules: Modules = None,
    path: PathOpt = None,
) -> None:
    """Draw the cross-agent DAG (edges point to dependencies), or one flow's steps with --steps NAME."""
    check_format(fmt, FORMATS)
    project = load(path, modules)
    if steps_of is not None:
        entry = project.get(steps_of)
        nodes, edges, labels = steps(entry.obj)
        console.raw(render(fmt, nodes, edges, labels, title=entry.name, flow=entry.obj))
        return
    entries = select_entries(project, selectors, exclude, env)
    nodes, edges, labels = dag(entries)
    kinds = {e.name: e.kind for e in entries if e.kind in ("flow", "agent")}
    console.raw(render(fmt, nodes, edges, labels, title="agents", kinds=kinds))
