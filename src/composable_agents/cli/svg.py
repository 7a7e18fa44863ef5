"""A small layered (Sugiyama-style) SVG drawing of a DAG, with no external binary.

Layers by longest path from the sources, order inside each layer by a few
barycenter sweeps (fewer crossings), then boxes on a grid and straight
edges with arrowheads. Good enough for a cross-agent graph of tens of nodes
or one flow's steps; the observability package's renderer is preferred when
installed (``ca graph`` tries it first).

Rejected: shelling out to Graphviz ``dot`` (not installed on a fresh machine,
and SPEC §19 says the SVG needs no external binary).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Final

__all__ = ["layered_layout", "layered_svg"]

_BOX_H: Final = 34
_GAP_X: Final = 28
_GAP_Y: Final = 56
_CHAR_W: Final = 7.2
_PAD: Final = 16


def layered_layout(nodes: Sequence[str], edges: Sequence[tuple[str, str]]) -> list[list[str]]:
    """``nodes`` in layers: every edge ``(a, b)`` goes from a lower layer to a higher one."""
    preds: dict[str, list[str]] = {n: [] for n in nodes}
    for a, b in edges:
        if a in preds and b in preds and a != b:
            preds[b].append(a)
    layer: dict[str, int] = {}
    visiting: set[str] = set()

    def depth(n: str) -> int:
        if n in layer:
            return layer[n]
        if n in visiting:  # a cycle: cut it here rather than recurse forever
            return 0
        visiting.add(n)
        d = 1 + max((depth(p) for p in preds[n]), default=-1)
        visiting.discard(n)
        layer[n] = d
        return d

    for n in nodes:
        depth(n)
    layers: list[list[str]] = [[] for _ in range(max(layer.values(), default=-1) + 1)]
    for n in nodes:
        layers[layer[n]].append(n)
    succs: dict[str, list[str]] = {n: [] for n in nodes}
    for a, b in edges:
        if a in succs and b in succs:
            succs[a].append(b)
    for _sweep in range(4):
        for i in range(1, len(layers)):
            pos = {n: j for j, n in enumerate(layers[i - 1])}
            layers[i].sort(key=lambda n: _bary(preds[n], pos))
        for i in range(len(layers) - 2, -1, -1):
            pos = {n: j for j, n in enumerate(layers[i + 1])}
            layers[i].sort(key=lambda n: _bary(succs[n], pos))
    return layers


def _bary(neighbours: Sequence[str], pos: Mapping[str, int]) -> float:
    known = [pos[n] for n in neighbours if n in pos]
    return sum(known) / len(known) if known else float("inf")


def layered_svg(
    nodes: Sequence[str],
    edges: Sequence[tuple[str, str]],
    *,
    labels: Mapping[str, str] | None = None,
    title: str = "graph",
) -> str:
    """A self-contained SVG document drawing the DAG ``nodes``/``edges`` top to bottom."""
    labels = labels or {}
    layers = layered_layout(nodes, edges)
    width_of = {n: max(60.0, len(labels.get(n, n)) * _CHAR_W + 20) for n in nodes}
    row_w = [sum(width_of[n] for n in row) + _GAP_X * max(0, len(row) - 1) for row in layers]
    total_w = max(row_w, default=100.0) + 2 * _PAD
    centre: dict[str, tuple[float, float]] = {}
    for i, row in enumerate(layers):
        x = _PAD + (total_w - 2 * _PAD - row_w[i]) / 2
        y = _PAD + i * (_BOX_H + _GAP_Y)
        for n in row:
            centre[n] = (x + width_of[n] / 2, y + _BOX_H / 2)
            x += width_of[n] + _GAP_X
    total_h = _PAD * 2 + len(layers) * _BOX_H + max(0, len(layers) - 1) * _GAP_Y
    out = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_w:.0f}" height="{total_h:.0f}" '
            f'viewBox="0 0 {total_w:.0f} {total_h:.0f}" font-family="monospace" font-size="12">'
        ),
        f"<title>{escape(title)}</title>",
        (
            '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" '
            'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>'
        ),
    ]
    for a, b in edges:
        if a not in centre or b not in centre:
            continue
        (x1, y1), (x2, y2) = centre[a], centre[b]
        y1 += _BOX_H / 2 if y2 > y1 else -_BOX_H / 2
        y2 += -_BOX_H / 2 if y2 > y1 else _BOX_H / 2
        out.append(
            f'<line class="edge" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
            'stroke="#555" stroke-width="1.2" marker-end="url(#arrow)"/>'
        )
    for n in nodes:
        cx, cy = centre[n]
        w = width_of[n]
        out.append(
            f'<g class="node" id="{escape(n, quote=True)}"><rect x="{cx - w / 2:.1f}" y="{cy - _BOX_H / 2:.1f}" '
            f'width="{w:.1f}" height="{_BOX_H}" rx="6" fill="#eef3fb" stroke="#3b6fb6"/>'
            f'<text x="{cx:.1f}" y="{cy + 4:.1f}" text-anchor="middle">{escape(labels.get(n, n))}</text></g>'
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"
