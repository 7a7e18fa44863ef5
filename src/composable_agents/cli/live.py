"""The live trace tree of ``ca run``: each activation is shown as it completes, with status, duration and cost.

:class:`TraceTree` takes activation records (``activation``, ``parent``,
``op``, ``label``, ``cost``, optional ``error``/``startedAt``/``endedAt``),
from the projection listener while a run is going, or from a stored run
afterwards (``ca trace``). On a terminal it redraws a rich tree (a parent that
has not finished yet shows as running); piped, it prints one line per
activation in completion order, indented by depth, which is what tests read.

Rejected: polling the projection after the run (nothing would be live) and
wrapping every tool and reasoner (structural steps and pures would never show).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Self

from composable_agents.cli.console import Console

__all__ = ["TraceTree", "activation_record", "indented_line", "line_of", "watch"]


def _duration(record: Mapping[str, Any]) -> str:
    start, end = record.get("startedAt"), record.get("endedAt")
    if isinstance(start, int | float) and isinstance(end, int | float):
        return f"{max(0.0, float(end) - float(start)):.0f}ms"
    return "-"


def _depth(activation: str) -> int:
    node = activation.split(":", 1)[-1].split("[", 1)[0]
    return node.count(".")


def line_of(record: Mapping[str, Any], *, rich: bool = False) -> str:
    """One activation as a line: status, label, op, activation id, duration, cost."""
    failed = record.get("error") is not None
    mark = ("✗" if failed else "✓") if rich else ("FAIL" if failed else "ok")
    cost = float(record.get("cost") or 0.0)
    text = f"{mark} {record.get('label', '?')} [{record.get('op', '?')}] {record['activation']} {_duration(record)} ${cost:.4f}"
    if failed:
        err = record["error"]
        if isinstance(err, Mapping):
            err = f"{err.get('type', 'error')}: {err.get('message', '')}"
        text += f"  {err}"
    return text


def indented_line(record: Mapping[str, Any], *, rich: bool = False) -> str:
    """:func:`line_of`, indented two spaces per nesting level of its activation (the piped tree)."""
    return "  " * _depth(str(record["activation"])) + line_of(record, rich=rich)


def activation_record(
    meta: Any, acts: tuple[int, ...], attrs: Mapping[str, Any] | None, started: float | None = None,
    ended: float | None = None,
) -> dict[str, Any]:
    """The record of one activation from the projection listener's ``(meta, acts, attrs, started, ended)``."""
    from composable_agents.core.kinds import Op
    from composable_agents.execution.projection import activation_id

    parent = meta.parent
    parent_id = None
    if parent is not None:
        trimmed = acts[:-1] if parent.op in (Op.EACH, Op.ITER_UP_TO) and acts else acts
        parent_id = activation_id(parent.node_id, trimmed)
    record: dict[str, Any] = {
        "activation": activation_id(meta.node_id, acts),
        "parent": parent_id,
        "op": str(meta.op),
        "label": meta.label,
        "cost": meta.cost_usd or 0.0,
    }
    if ended is not None:
        record["startedAt"] = (started if started is not None else ended) * 1000.0
        record["endedAt"] = ended * 1000.0
    if attrs:
        record.update({k: v for k, v in attrs.items() if k in ("cost", "error", "usage")})
    return record


class TraceTree:
    """Renders activation records as they arrive (see the module docs)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.records: dict[str, dict[str, Any]] = {}
        self._live: Any = None

    def __enter__(self) -> Self:
        if self.console.is_terminal:
            from rich.live import Live

            self._live = Live(self._render(), console=self.console.rich(), auto_refresh=False, transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.update(self._render(), refresh=True)
            self._live.__exit__(None, None, None)
            self._live = None

    def add(self, record: Mapping[str, Any]) -> None:
        """One completed activation."""
        self.records[record["activation"]] = dict(record)
        if self._live is not None:
            self._live.update(self._render(), refresh=True)
        else:
            self.console.line(indented_line(record))

    def _render(self) -> Any:
        from rich.text import Text
        from rich.tree import Tree

        root = Tree("run", guide_style="dim")
        nodes: dict[str, Any] = {}

        def node_of(act: str) -> Any:
            found = nodes.get(act)
            if found is not None:
                return found
            rec = self.records.get(act)
            parent_act = rec.get("parent") if rec is not None else _parent_guess(act)
            parent = node_of(parent_act) if parent_act is not None and parent_act != act else root
            label = line_of(rec, rich=True) if rec is not None else f"… {act} running"
            style = None if rec is None else ("red" if rec.get("error") is not None else "green")
            # Text, not a markup string: "[prim]" must print as it is, not be read as a style tag.
            nodes[act] = parent.add(Text(label, style=(style or "") if self.console.color else ""))
            return nodes[act]

        for act in self.records:
            node_of(act)
        return root


def _parent_guess(act: str) -> str | None:
    node = act.split("[", 1)[0]
    if node == "$" or "." not in node:
        return None
    return node.rsplit(".", 1)[0]


@contextmanager
def watch(tree: TraceTree) -> Iterator[None]:
    """Feed ``tree`` from the projection listener while the block runs."""
    from composable_agents.execution.projection import listen_activations

    def on_activation(
        meta: Any, acts: tuple[int, ...], attrs: Mapping[str, Any] | None, started: float | None, ended: float | None
    ) -> None:
        tree.add(activation_record(meta, acts, attrs, started, ended))

    with listen_activations(on_activation):
        yield
