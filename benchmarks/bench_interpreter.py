"""Interpreter and deploy benchmark (prints plain lines; not a test).

Run: ``.venv/bin/python benchmarks/bench_interpreter.py``

Measures, in one run:

* per-step cost of a ``seq`` of N registered ``@pure`` int -> int steps run by
  ``Deployment.dry_run`` for N = 10, 1,000, 100,000 — the first run (which
  includes preparing the program) and the steady-state best of 5 — beside the
  same work as plain Python calls, with and without the projection;
* per-element cost of ``each`` over K = 1,000 items;
* deploy (freeze + encode + hash) time of a 10,000-node flow.

Targets (2-core machine): <= 3 us/step at N = 1,000 and linear to 100,000;
<= 3 us per ``each`` element; <= 100 ms for the 10,000-node deploy.
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable
from typing import Any

from composable_agents import alt, arr, deploy, each, par, pure, seq

RUNS = 5


@pure("bench.inc")
def bench_inc(x: int) -> int:
    return x + 1


@pure("bench.double")
def bench_double(x: int) -> int:
    return x * 2


@pure("bench.is_even")
def bench_is_even(x: int) -> bool:
    return x % 2 == 0


@pure("bench.sum")
def bench_sum(xs: list[int]) -> int:
    return sum(xs)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def best(fn: Callable[[], Any], runs: int = RUNS) -> float:
    return min(timed(fn)[0] for _ in range(runs))


def us(seconds: float, per: int) -> str:
    return f"{seconds * 1e6 / per:8.3f} us"


def bench_seq(n: int) -> None:
    flow = seq(*([bench_inc] * n))
    deploy_s, d = timed(lambda: deploy(flow, tools=[], reasoners=[]))
    first_s, result = timed(lambda: d.dry_run(0))
    assert result.value == n, result.detail
    steady = best(lambda: d.dry_run(0))
    no_proj = best(lambda: d.dry_run(0, projection=False))
    raw = bench_inc.definition.fn
    fns = [raw] * n

    def plain() -> int:
        v = 0
        for f in fns:
            v = f(v)
        return v

    python = best(plain)
    print(
        f"seq N={n:>7,}: first run {us(first_s, n)}/step (deploy {deploy_s * 1e3:8.1f} ms) | "
        f"steady {us(steady, n)}/step | projection=False {us(no_proj, n)}/step | "
        f"plain python {us(python, n)}/step | ratio steady/python {steady / python:6.1f}x"
    )


def bench_each(k: int) -> None:
    d = deploy(each(bench_inc), tools=[], reasoners=[])
    items = list(range(k))
    first_s, result = timed(lambda: d.dry_run(items))
    assert result.value == [x + 1 for x in items]
    steady = best(lambda: d.dry_run(items))
    no_proj = best(lambda: d.dry_run(items, projection=False))
    raw = bench_inc.definition.fn
    python = best(lambda: [raw(x) for x in items])
    print(
        f"each K={k:>6,}: first run {us(first_s, k)}/item | steady {us(steady, k)}/item | "
        f"projection=False {us(no_proj, k)}/item | plain python {us(python, k)}/item | "
        f"ratio {steady / python:6.1f}x"
    )


def big_flow(target: int) -> tuple[Any, int]:
    """A mixed flow (seq, par, each, alt, static args) of about ``target`` nodes."""
    parts = []
    nodes = 1  # the root seq
    i = 0
    while nodes < target:
        kind = i % 4
        if kind == 0:
            parts.append(arr("bench.inc"))
            nodes += 1
        elif kind == 1:
            parts.append(par(bench_inc, bench_double) >> arr("bench.sum"))
            nodes += 4  # par + 2 leaves + the reducer step (the inner seq flattens)
        elif kind == 2:
            parts.append(alt("bench.is_even", bench_inc, arr("bench.double", k=i)))
            nodes += 3
        else:
            parts.append(arr("std.init", key="xs") >> arr("std.pluck", key="xs"))
            nodes += 2
        i += 1
    return seq(*parts), nodes


def bench_deploy(target: int) -> None:
    times = []
    count = 0
    for _ in range(3):
        flow, _est = big_flow(target)  # fresh nodes: no cached normal form or digest
        seconds, d = timed(lambda f=flow: deploy(f, tools=[], reasoners=[]))
        times.append(seconds)
        from composable_agents.core.codec import walk

        count = len(walk(d.frozen.node))
    print(f"deploy of a {count:,}-node flow (freeze + encode + hash): best {min(times) * 1e3:7.1f} ms "
          f"(runs: {', '.join(f'{t * 1e3:.1f}' for t in times)} ms)")


def main() -> None:
    print(f"python {sys.version.split()[0]}; best of {RUNS} for steady-state figures")
    for n in (10, 1_000, 100_000):
        bench_seq(n)
    bench_each(1_000)
    bench_deploy(10_000)
    bench_projection(1_000)


# -- projection cost on a flow of tool calls (the execution work's section) ---------------


def bench_projection(steps: int = 1_000) -> None:
    """Per-step cost of a ``steps``-long ``seq`` of in-memory tool calls, projection on vs off.

    Target: the projection costs at most 2x (on/off ratio <= 2.0).
    """
    from composable_agents import tool

    @tool(name="bench_tool_inc", effect="read")
    def bench_tool_inc(x: int) -> int:
        return x + 1

    d = deploy(seq(*([bench_tool_inc] * steps)), reasoners=[])
    assert d.dry_run(0).value == steps
    on = best(lambda: d.dry_run(0))
    off = best(lambda: d.dry_run(0, projection=False))
    print(
        f"tool seq N={steps:>6,}: projection on {us(on, steps)}/step | projection off {us(off, steps)}/step | "
        f"ratio on/off {on / off:5.2f}x (target <= 2x)"
    )


if __name__ == "__main__":
    main()
