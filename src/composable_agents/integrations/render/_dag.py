"""A layered DAG layout drawn as a standalone SVG (no Graphviz, no network).

Sugiyama in miniature: cycles are broken by reversing DFS back edges, nodes
are layered by longest path from the sources, each layer is ordered by a few
barycenter sweeps, and edges are cubic curves between layer bands. Good
enough for flows and cross-agent graphs of a few hundred nodes; the CLI's
``ca graph --format svg`` and :func:`render_flow_svg` draw with it.

Rejected alternative: shelling out to ``dot``. It draws better, but SPEC §19
requires SVG without an external binary, and a test of the picture should
not depend on what the machine has installed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from xml.sax.saxutils import escape

from composable_agents.errors import ComposableAgentsError

__all__ = ["DagError", "render_dag_svg"]

_NODE_H: Final = 34
_LAYER_GAP: Final = 46
_NODE_GAP: Final = 22
_MARGIN: Final = 20
_CHAR_W: Final = 7.2
_MAX_LABEL: Final = 40

_FILL: Final = {
    "tool": "#dbeafe",
    "reasoner": "#ede9fe",
    "pure": "#f1f5f9",
    "control": "#fef9c3",
    "gate": "#fee2e2",
    "sub": "#dcfce7",
    "agent": "#fae8ff",
    "flow": "#e0f2fe",
    "io": "#e5e7eb",
    "session": "#ffedd5",
    "arrow": "#f1f5f9",
}


class DagError(ComposableAgentsError, ValueError):
    """A malformed graph: an edge naming an unknown node, a node without an id."""


@dataclass(slots=True)
class _Node:
    id: str
    label: str
    kind: str
    title: str
    width: float = 0.0
    x: float = 0.0
    y: float = 0.0
    layer: int = 0


def _as_node(item: Any) -> _Node:
    if isinstance(item, str):
        return _Node(item, item, "", item)
    if isinstance(item, Mapping):
        nid = item.get("id")
        if not isinstance(nid, str) or not nid:
            msg = f"a node mapping needs a non-empty string `id` (got {item!r:.80})"
            raise DagError(msg)
        label = str(item.get("label") or nid)
        return _Node(nid, label, str(item.get("kind") or ""), str(item.get("title") or label))
    if isinstance(item, tuple | list) and item and isinstance(item[0], str):
        label = str(item[1]) if len(item) > 1 else item[0]
        kind = str(item[2]) if len(item) > 2 else ""
        return _Node(item[0], label, kind, label)
    msg = f"a node is an id string, an (id, label[, kind]) pair or a mapping with `id` (got {item!r:.80})"
    raise DagError(msg)


def _as_edge(item: Any) -> tuple[str, str, str]:
    if isinstance(item, Mapping):
        src = item.get("source", item.get("from"))
        dst = item.get("target", item.get("to"))
        label = item.get("label") or ""
    elif isinstance(item, tuple | list) and len(item) in (2, 3):
        src, dst = item[0], item[1]
        label = item[2] if len(item) == 3 else ""
    else:
        msg = f"an edge is a (source, target[, label]) pair or a mapping with source/target (got {item!r:.80})"
        raise DagError(msg)
    if not isinstance(src, str) or not isinstance(dst, str):
        msg = f"edge ends must be node ids (got {src!r} -> {dst!r})"
        raise DagError(msg)
    return src, dst, str(label)


def _short(label: str) -> str:
    return label if len(label) <= _MAX_LABEL else label[: _MAX_LABEL - 1] + "…"


def _layers(order: list[str], edges: list[tuple[str, str, str]]) -> tuple[dict[str, int], list[tuple[str, str, str]]]:
    """Longest-path layers after reversing the back edges a DFS finds (the returned edge list is acyclic)."""
    out: dict[str, list[int]] = {n: [] for n in order}
    for i, (s, _d, _l) in enumerate(edges):
        out[s].append(i)
    state: dict[str, int] = {}
    reverse: set[int] = set()
    for root in order:
        if root in state:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        state[root] = 1
        while stack:
            node, k = stack[-1]
            if k < len(out[node]):
                stack[-1] = (node, k + 1)
                i = out[node][k]
                nxt = edges[i][1]
                seen = state.get(nxt)
                if seen == 1:
                    reverse.add(i)  # back edge: drawn reversed so the layering stays a DAG
                elif seen is None:
                    state[nxt] = 1
                    stack.append((nxt, 0))
            else:
                state[node] = 2
                stack.pop()
    dag = [(d, s, lab) if i in reverse else (s, d, lab) for i, (s, d, lab) in enumerate(edges)]
    indeg = {n: 0 for n in order}
    succ: dict[str, list[str]] = {n: [] for n in order}
    for s, d, _lab in dag:
        if s != d:
            indeg[d] += 1
            succ[s].append(d)
    layer = dict.fromkeys(order, 0)
    ready = [n for n in order if indeg[n] == 0]
    while ready:
        nxt_ready: list[str] = []
        for n in ready:
            for m in succ[n]:
                layer[m] = max(layer[m], layer[n] + 1)
                indeg[m] -= 1
                if indeg[m] == 0:
                    nxt_ready.append(m)
        ready = nxt_ready
    return layer, dag


def _order(rows: list[list[str]], dag: list[tuple[str, str, str]]) -> None:
    """Barycenter sweeps: each node moves toward the mean position of its neighbours in the adjacent layer."""
    preds: dict[str, list[str]] = {}
    succs: dict[str, list[str]] = {}
    for s, d, _lab in dag:
        succs.setdefault(s, []).append(d)
        preds.setdefault(d, []).append(s)
    for sweep in range(4):
        down = sweep % 2 == 0
        span = range(1, len(rows)) if down else range(len(rows) - 2, -1, -1)
        for li in span:
            ref = rows[li - 1] if down else rows[li + 1]
            pos = {n: i for i, n in enumerate(ref)}
            near = preds if down else succs
            current = {n: i for i, n in enumerate(rows[li])}

            def key(n: str, pos: dict[str, int] = pos, near: dict[str, list[str]] = near, current: dict[str, int] = current) -> float:
                linked = [pos[m] for m in near.get(n, ()) if m in pos]
                return sum(linked) / len(linked) if linked else float(current[n])

            rows[li].sort(key=key)


def render_dag_svg(
    nodes: Iterable[Any],
    edges: Iterable[Any],
    *,
    title: str | None = None,
) -> str:
    """A standalone SVG of the directed graph ``nodes``/``edges``, laid out top to bottom in layers.

    ``nodes``: id strings, ``(id, label[, kind])`` tuples or mappings with
    ``id`` and optional ``label``, ``kind`` (``tool``, ``reasoner``, ``pure``,
    ``control``, ``gate``, ``sub``, ``agent``, ``flow``, ``io``: the fill
    colour) and ``title`` (the hover text). ``edges``: ``(source, target[,
    label])`` or mappings with ``source``/``target``. A node named only by an
    edge is an error (:class:`DagError`), as is a duplicate node id. Cycles
    are allowed (their back edges are drawn against the flow).
    """
    placed: dict[str, _Node] = {}
    for item in nodes:
        node = _as_node(item)
        if node.id in placed:
            msg = f"duplicate node id {node.id!r}"
            raise DagError(msg)
        placed[node.id] = node
    edge_list = [_as_edge(e) for e in edges]
    for s, d, _lab in edge_list:
        for end in (s, d):
            if end not in placed:
                msg = f"edge {s!r} -> {d!r} names the unknown node {end!r}; list it in `nodes`"
                raise DagError(msg)
    order = list(placed)
    layer, dag = _layers(order, edge_list)
    rows: list[list[str]] = [[] for _ in range(max(layer.values(), default=-1) + 1)]
    for n in order:
        rows[layer[n]].append(n)
    _order(rows, dag)
    widths: list[float] = []
    for row in rows:
        total = 0.0
        for n in row:
            node = placed[n]
            node.width = max(70.0, min(_MAX_LABEL, len(node.label)) * _CHAR_W + 24)
            total += node.width
        widths.append(total + _NODE_GAP * max(0, len(row) - 1))
    full = max(widths, default=0.0)
    for li, row in enumerate(rows):
        x = _MARGIN + (full - widths[li]) / 2
        for n in row:
            node = placed[n]
            node.layer = li
            node.x = x
            node.y = _MARGIN + (40 if title else 0) + li * (_NODE_H + _LAYER_GAP)
            x += node.width + _NODE_GAP
    width = int(full + 2 * _MARGIN) if rows else 2 * _MARGIN + 100
    height = int(_MARGIN * 2 + (40 if title else 0) + len(rows) * (_NODE_H + _LAYER_GAP) - (_LAYER_GAP if rows else 0))
    height = max(height, 60)
    parts: list[str] = [
        (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" font-size="12">'),
        ("<defs><marker id=\"ca-arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" "
        "markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#475569\"/></marker></defs>"),
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    if title:
        parts.append(f'<text x="{_MARGIN}" y="{_MARGIN + 16}" font-size="16" font-weight="bold" fill="#0f172a">{escape(title)}</text>')
    for i, (s, d, lab) in enumerate(edge_list):
        a, b = placed[s], placed[d]
        parts.append(_edge_path(a, b, lab, dag[i][0] != s))
    for n in order:
        parts.append(_node_box(placed[n]))
    parts.append("</svg>")
    return "\n".join(parts)


def _edge_path(a: _Node, b: _Node, label: str, back: bool) -> str:
    x1, x2 = a.x + a.width / 2, b.x + b.width / 2
    if a is b:
        y = a.y + _NODE_H / 2
        right = a.x + a.width
        d = f"M{right:.1f},{y - 6:.1f} C{right + 30:.1f},{y - 26:.1f} {right + 30:.1f},{y + 26:.1f} {right:.1f},{y + 6:.1f}"
    elif b.layer > a.layer or (b.layer == a.layer and not back):
        y1, y2 = a.y + _NODE_H, b.y
        mid = (y1 + y2) / 2
        d = f"M{x1:.1f},{y1:.1f} C{x1:.1f},{mid:.1f} {x2:.1f},{mid:.1f} {x2:.1f},{y2:.1f}"
    else:  # a back edge: leave from the side and come back up
        y1, y2 = a.y + _NODE_H / 2, b.y + _NODE_H / 2
        side = max(a.x + a.width, b.x + b.width) + 30
        d = f"M{a.x + a.width:.1f},{y1:.1f} C{side:.1f},{y1:.1f} {side:.1f},{y2:.1f} {b.x + b.width:.1f},{y2:.1f}"
    style = ' stroke-dasharray="5,4"' if back else ""
    out = f'<path d="{d}" fill="none" stroke="#475569" stroke-width="1.4" marker-end="url(#ca-arrow)"{style}/>'
    if label:
        lx, ly = (x1 + x2) / 2 + 4, (a.y + _NODE_H + b.y) / 2
        out += f'<text x="{lx:.1f}" y="{ly:.1f}" fill="#334155" font-size="11">{escape(_short(label))}</text>'
    return out


def _node_box(node: _Node) -> str:
    fill = _FILL.get(node.kind, "#f8fafc")
    return (
        f'<g class="ca-node" data-id="{escape(node.id, {chr(34): "&quot;"})}"><title>{escape(node.title)}</title>'
        f'<rect x="{node.x:.1f}" y="{node.y:.1f}" width="{node.width:.1f}" height="{_NODE_H}" rx="6" '
        f'fill="{fill}" stroke="#334155" stroke-width="1.2"/>'
        f'<text x="{node.x + node.width / 2:.1f}" y="{node.y + _NODE_H / 2 + 4:.1f}" text-anchor="middle" '
        f'fill="#0f172a">{escape(_short(node.label))}</text></g>'
    )

