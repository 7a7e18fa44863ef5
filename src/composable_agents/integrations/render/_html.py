"""One self-contained HTML page explaining a run: timeline, activation tree, values on click.

The page is a single file with its CSS, script and data inline, so it opens
from disk, from a CI artifact or an e-mail without any network. The rows
are rendered here, in Python, so the page shows the run even with scripts
off; the small inline script only fills the detail panel when a row is
clicked. Values shown are the record's (redacted by :func:`run_record`).

Rejected alternative: a JavaScript app fed by a JSON file. It would need a
server or a second file, and the page is most useful as an attachment.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any, Final

from composable_agents.core.canonical import JsonObject
from composable_agents.integrations.runs import RunRecord, run_record

__all__ = ["render_trace_html"]

_CSS: Final = """
body{font-family:Helvetica,Arial,sans-serif;margin:0;color:#0f172a;background:#f8fafc}
header{padding:14px 20px;background:#0f172a;color:#f8fafc}
header h1{font-size:18px;margin:0 0 6px 0}
header .facts span{margin-right:18px;font-size:13px}
.status{padding:2px 8px;border-radius:10px;font-weight:bold}
.status.ok{background:#16a34a}.status.bad{background:#dc2626}
main{display:flex;gap:16px;padding:16px 20px}
section{background:#fff;border:1px solid #cbd5e1;border-radius:8px;padding:10px}
#timeline{flex:3;min-width:0}#side{flex:2;min-width:0;display:flex;flex-direction:column;gap:16px}
h2{font-size:14px;margin:0 0 8px 0;color:#334155}
.row{display:flex;align-items:center;height:22px;cursor:pointer;border-bottom:1px solid #f1f5f9;font-size:12px}
.row:hover,.row.sel{background:#e0f2fe}
.name{box-sizing:border-box;width:38%;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.track{position:relative;flex:1;height:14px;background:#f1f5f9;border-radius:3px;margin:0 8px}
.bar{position:absolute;top:0;height:14px;border-radius:3px;min-width:3px}
.num{width:70px;text-align:right;color:#475569;font-variant-numeric:tabular-nums}
.err .name{color:#b91c1c;font-weight:bold}
ul.tree{list-style:none;padding-left:14px;margin:0;font-size:12px}
ul.tree li span{cursor:pointer}ul.tree li span:hover{text-decoration:underline}
pre{background:#f1f5f9;padding:8px;border-radius:6px;white-space:pre-wrap;word-break:break-all;font-size:12px;max-height:260px;overflow:auto}
.muted{color:#64748b;font-size:12px}
"""

_SCRIPT: Final = """
(function(){
  var data = JSON.parse(document.getElementById('ca-data').textContent);
  function show(i){
    var e = data.events[i]; if(!e) return;
    document.querySelectorAll('.row.sel').forEach(function(r){r.classList.remove('sel');});
    var row = document.getElementById('row-'+i); if(row) row.classList.add('sel');
    var attrs = {};
    Object.keys(e).forEach(function(k){ if(k!=='input' && k!=='output') attrs[k]=e[k]; });
    document.getElementById('d-title').textContent = e.op + ': ' + e.label + '  (' + e.activation + ')';
    document.getElementById('d-input').textContent = JSON.stringify(e.input, null, 2);
    document.getElementById('d-output').textContent = JSON.stringify(e.output, null, 2);
    document.getElementById('d-attrs').textContent = JSON.stringify(attrs, null, 2);
  }
  document.querySelectorAll('[data-ev]').forEach(function(el){
    el.addEventListener('click', function(){ show(+el.getAttribute('data-ev')); });
  });
  if (data.events.length) show(data.first);
})();
"""

_COLORS: Final = {
    "prim": "#3b82f6",
    "arr": "#94a3b8",
    "seq": "#cbd5e1",
    "par": "#eab308",
    "each": "#eab308",
    "alt": "#f59e0b",
    "iter_up_to": "#f59e0b",
    "app": "#c026d3",
    "eval_plan": "#c026d3",
    "ident": "#e2e8f0",
}


def _tree(events: tuple[JsonObject, ...]) -> tuple[list[int], dict[int, list[int]], list[int]]:
    """Roots, children (by event index) and the depth-first order of the activation tree."""
    index = {str(e["activation"]): i for i, e in enumerate(events)}
    kids: dict[int, list[int]] = {}
    roots: list[int] = []
    for i, e in enumerate(events):
        parent = e.get("parent")
        p = index.get(parent) if isinstance(parent, str) else None
        if p is None or p == i:
            roots.append(i)
        else:
            kids.setdefault(p, []).append(i)

    def start(i: int) -> tuple[float, int]:
        t = events[i].get("startedAt")
        return (float(t) if isinstance(t, int | float) else 0.0, i)

    for children in kids.values():
        children.sort(key=start)
    roots.sort(key=start)
    order: list[int] = []
    stack = list(reversed(roots))
    while stack:
        i = stack.pop()
        order.append(i)
        stack.extend(reversed(kids.get(i, [])))
    return roots, kids, order


def _fmt_ms(ms: float) -> str:
    if ms >= 60_000:
        return f"{ms / 60_000:.1f} min"
    if ms >= 1000:
        return f"{ms / 1000:.2f} s"
    return f"{ms:.1f} ms"


def _fmt_cost(cost: Any) -> str:
    return f"${float(cost):.4f}" if isinstance(cost, int | float) and cost else ""


def render_trace_html(run: Any, *, title: str | None = None, flow: str | None = None) -> str:
    """The HTML page of ``run`` (a ``Result``, a ``Projection``, a ``RunRecord`` or their JSON).

    A header with the run id, flow, status, duration and cost; a timeline of
    every activation (a bar from ``startedAt`` to ``endedAt``, its duration
    and cost), indented by the activation tree; the tree itself; and a panel
    showing the clicked step's input, output and attributes. No network:
    styles, script and data are inline. ``flow`` names the flow when ``run``
    does not (a local ``Result``).
    """
    record: RunRecord = run_record(run, flow=flow)
    events = record.events
    _roots, kids, order = _tree(events)
    depth: dict[int, int] = {}
    for i in order:
        for k in kids.get(i, ()):
            depth[k] = depth.get(i, 0) + 1
    t0 = record.started_at or 0.0
    span = record.duration_ms or 1.0
    rows: list[str] = []
    for i in order:
        e = events[i]
        start = e.get("startedAt")
        end = e.get("endedAt")
        s = float(start) if isinstance(start, int | float) else t0
        d = max(0.0, float(end) - s) if isinstance(end, int | float) else 0.0
        left = (s - t0) / span * 100
        width = d / span * 100
        failed = bool(e.get("error"))
        color = "#dc2626" if failed else _COLORS.get(str(e.get("op")), "#64748b")
        name = f"{e.get('op')}: {e.get('label')}"
        rows.append(
            f'<div class="row{" err" if failed else ""}" id="row-{i}" data-ev="{i}" title="{escape(str(e.get("activation")))}">'
            f'<div class="name" style="padding-left:{depth.get(i, 0) * 14}px">{escape(name)}</div>'
            f'<div class="track"><div class="bar" style="left:{left:.3f}%;width:{width:.3f}%;background:{color}"></div></div>'
            f'<div class="num">{_fmt_ms(d)}</div><div class="num">{escape(_fmt_cost(e.get("cost")))}</div></div>'
        )
    tree = _tree_html(events, kids, [i for i in order if i not in depth])
    ok = record.status == "ok"
    heading = title or f"Run {record.run_id}"
    facts = [
        f'<span class="status {"ok" if ok else "bad"}">{escape(record.status)}</span>',
        f"<span>flow: {escape(record.flow or '-')}</span>",
        f"<span>duration: {_fmt_ms(record.duration_ms)}</span>",
        f"<span>cost: ${record.cost:.4f}</span>",
        f"<span>{len(events)} activations{f' ({record.dropped} dropped)' if record.dropped else ''}</span>",
    ]
    if record.detail and not ok:
        facts.append(f"<span>{escape(json.dumps(record.detail)[:200])}</span>")
    data = {"events": list(events), "first": order[0] if order else 0}
    payload = json.dumps(data, ensure_ascii=True, default=str).replace("</", "<\\/").replace("<!--", "<\\!--")
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{escape(heading)}</title>",
            f"<style>{_CSS}</style></head><body>",
            f"<header><h1>{escape(heading)}</h1><div class=\"facts\">{''.join(facts)}</div></header>",
            "<main>",
            '<section id="timeline"><h2>Timeline</h2>',
            ('<div class="row muted" style="cursor:default"><div class="name">step</div>'
            '<div class="track" style="background:none">'
            f'<span class="muted">0 → {_fmt_ms(record.duration_ms)}</span></div>'
            '<div class="num">duration</div><div class="num">cost</div></div>'),
            *rows,
            "</section>",
            '<div id="side">',
            f'<section id="tree"><h2>Activation tree</h2>{tree}</section>',
            '<section id="details"><h2 id="d-title">Step</h2>',
            '<div class="muted">input</div><pre id="d-input"></pre>',
            '<div class="muted">output</div><pre id="d-output"></pre>',
            '<div class="muted">attributes</div><pre id="d-attrs"></pre></section>',
            "</div></main>",
            f'<script type="application/json" id="ca-data">{payload}</script>',
            f"<script>{_SCRIPT}</script>",
            "</body></html>",
        ]
    )


def _tree_html(events: tuple[JsonObject, ...], kids: dict[int, list[int]], roots: list[int]) -> str:
    out: list[str] = ['<ul class="tree" style="padding-left:0">']
    # The tree is a reading aid: past a few thousand nodes the timeline alone stays usable.
    budget = [5000]
    for r in roots:
        _walk_iter(events, kids, r, out, budget)
    out.append("</ul>")
    return "".join(out)


def _walk_iter(events: tuple[JsonObject, ...], kids: dict[int, list[int]], root: int, out: list[str], budget: list[int]) -> None:
    """Depth-first tree markup without recursion (a 10^5-step run must not hit the recursion limit)."""
    stack: list[tuple[int, bool]] = [(root, False)]
    while stack:
        i, closing = stack.pop()
        if closing:
            out.append("</ul></li>" if kids.get(i) else "</li>")
            continue
        if budget[0] <= 0:
            continue
        budget[0] -= 1
        e = events[i]
        mark = " ✗" if e.get("error") else ""
        out.append(f'<li><span data-ev="{i}">{escape(str(e.get("op")))}: {escape(str(e.get("label")))}{mark}</span>')
        children = kids.get(i)
        stack.append((i, True))
        if children:
            out.append('<ul class="tree">')
            stack.extend((k, False) for k in reversed(children))
