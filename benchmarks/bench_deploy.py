"""Benchmark of ``deploy()``: freeze, validate, capabilities, admission, approval, budget.

Deploys flows of about 1,000 and 10,000 IR nodes; one node in ten is a tool
call (so the 10,000-node flow makes 1,000 calls over 50 distinct tools), with
races, gates and dangerous tools, choices, loops and a capability manifest
granting every tool with ``maxCalls`` and a budget. Each flow is built fresh
for every repetition (nodes cache their normal form), and only ``deploy`` is
timed. Target: <= 300 ms at 10,000 nodes, growing linearly.

Run: ``.venv/bin/python benchmarks/bench_deploy.py``
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from composable_agents import (
    Ann,
    alt,
    arr,
    call,
    deploy,
    human_gate,
    iter_up_to,
    par,
    race,
    seq,
    tool,
)
from composable_agents.core.codec import walk
from composable_agents.core.pures import Registry

N_TOOLS = 50
REGISTRY = Registry()


def _make_tools() -> list[Any]:
    out = []
    for i in range(N_TOOLS):
        effect = "dangerous" if i % 10 == 9 else ("read" if i % 2 == 0 else "write")

        def body(x: str) -> str:
            return x

        body.__name__ = f"bench_tool_{i}"
        out.append(tool(name=f"bench_tool_{i}", effect=effect, idempotent=i % 2 == 0, registry=REGISTRY)(body))
    return out


TOOLS = _make_tools()
READS = [t for i, t in enumerate(TOOLS) if i % 2 == 0]
WRITES = [t for i, t in enumerate(TOOLS) if i % 2 == 1 and i % 10 != 9]
DANGER = [t for i, t in enumerate(TOOLS) if i % 10 == 9]

CAPABILITIES: dict[str, Any] = {
    "tools": [{"name": t.key, "maxCalls": 1000} for t in TOOLS],
    "reasoners": [],
    "memory": ["local"],
    "budget": {"cost": 100.0},
}


def block(i: int) -> Any:
    """Ten nodes holding one tool call (a gated dangerous call every fifth block)."""
    step_tool = DANGER[i % len(DANGER)] if i % 5 == 4 else (READS + WRITES)[i % (len(READS) + len(WRITES))]
    head = human_gate("ok?") if i % 5 == 4 else arr("std.init", key="k")
    return seq(
        head,                                                     # 1
        call(step_tool, ann=Ann(cost_usd=0.001)),                 # 1
        arr("std.init", key="v"),                                 # 1
        alt(                                                      # 1
            "std.branch_predicate",
            arr("std.pluck", key="v"),                            # 1
            arr("std.init", key="w"),                             # 1
        ),
        iter_up_to(2, arr("std.init", key="z")),                  # 2
        par(arr("std.init", key="a"), arr("std.init", key="b")),  # 3 (par + 2) -> seq adds 1: 11 total
    )


def race_block(i: int) -> Any:
    """Ten nodes: a race of two reads plus seven pures."""
    a, b = READS[i % len(READS)], READS[(i + 1) % len(READS)]
    return seq(
        race(call(a, ann=Ann(cost_usd=0.001)), call(b)),
        arr("std.init", key="s"),
        arr("std.init", key="t"),
        arr("std.init", key="u"),
        par(arr("std.init", key="c"), arr("std.init", key="d"), arr("std.init", key="e")),
        arr("std.pluck", key="k"),
    )


def build(n_nodes: int) -> Any:
    blocks = []
    i = 0
    size = 1  # the root seq
    while size < n_nodes:
        b = race_block(i) if i % 4 == 3 else block(i)
        blocks.append(b)
        size += sum(1 for _ in walk(b.to_ir())) - 1  # a block's seq is flattened into the root
        i += 1
    return seq(*blocks)


def measure(n_nodes: int, reps: int = 7) -> tuple[int, int, float]:
    times = []
    nodes = calls = 0
    for _ in range(reps):
        flow = build(n_nodes)
        t0 = time.perf_counter()
        d = deploy(flow, tools=TOOLS, capabilities=CAPABILITIES, registry=REGISTRY)
        times.append(time.perf_counter() - t0)
        assert d.blocking == (), d.explain()
        items = walk(d.frozen.node)
        nodes = len(items)
        calls = sum(1 for _nid, n, _p in items if n.OP == "prim" and n.step.to_json()["kind"] == "call"  # type: ignore[attr-defined]
                    and not n.step.tool.startswith("__"))  # type: ignore[attr-defined]
    return nodes, calls, statistics.median(times) * 1000


def main() -> None:
    rows = [measure(1_000), measure(10_000)]
    for nodes, calls, ms in rows:
        print(f"deploy: {nodes:>6} nodes, {calls:>5} tool calls, manifest with {N_TOOLS} grants: {ms:7.1f} ms (median)")
    (n1, _, t1), (n2, _, t2) = rows
    print(f"growth: x{n2 / n1:.1f} nodes -> x{t2 / t1:.1f} time (linear ~ equal factors); target <= 300 ms at 10,000 nodes")


if __name__ == "__main__":
    main()
