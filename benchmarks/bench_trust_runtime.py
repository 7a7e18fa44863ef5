"""What the trust checks (SPEC §22) cost on the interpreter's hot path (prints plain lines; not a test).

Run: ``.venv/bin/python benchmarks/bench_trust_runtime.py``

(Part A of issue 13: the run-time checks. ``bench_trust.py`` measures part B's.)

Every figure is an A/B measured in the same process, interleaved run by run
so load from other processes hits both sides alike:

* ``seq`` of N = 1,000 and 100,000 int pures and ``each`` over 1,000 items via
  ``Deployment.dry_run`` with the real recorder (byte budget on) vs a recorder
  whose ``add`` skips the byte-budget lines (the code before §22.9), and the
  same for a seq passing 1 KB strings (the byte budget's real work);
* the per-run drift check (pure pins + tool bodies) and the plan size check
  of a typical 20-step plan, in microseconds;
* a growing-value loop: retained projection bytes with the budget.

Target: the checks cost <= 10% of ``bench_interpreter.py``'s steady per-step
figures (ratio <= 1.10).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Mapping
from typing import Any

from composable_agents import deploy, each, iter_up_to, pure, seq
from composable_agents.authoring.kernel import arr
from composable_agents.core.canonical import Json
from composable_agents.execution import local
from composable_agents.execution.projection import NodeMeta, Recorder, value_bytes

ROUNDS = 15


@pure("btrust.inc")
def btrust_inc(x: int) -> int:
    return x + 1


@pure("btrust.text")
def btrust_text(s: str) -> str:
    return s[1:] + s[0]


@pure("btrust.grow")
def btrust_grow(s: str) -> str:
    return s + "x" * 10_000


class PlainRecorder(Recorder):
    """``Recorder.add`` without the byte-budget lines: the baseline the checks are measured against."""

    __slots__ = ()

    def add(
        self,
        meta: NodeMeta,
        acts: tuple[int, ...],
        value_in: Json,
        value_out: Json,
        attrs: Mapping[str, Any] | None = None,
        started: float | None = None,
    ) -> None:
        env = self.clock_env  # the clock read as Recorder.add does it (an InMemoryEnv's attribute)
        if env is not None:
            ended = env.clock
        else:
            clock = self.clock
            ended = clock() if clock is not None else None
        if self._listener is not None:
            self._listener(meta, acts, attrs, started, ended)
        raw = (meta, acts, value_in, value_out, attrs, started, ended)
        if not self._spilled:
            self._list.append(raw)
            if len(self._list) > self.max_events:
                self._spill()
            return
        self._append(raw)


def timed(fn: Callable[[], Any]) -> float:
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def ab(run: Callable[[], Any], rounds: int = ROUNDS) -> tuple[float, float]:
    """Best time with the real recorder and with :class:`PlainRecorder`, runs interleaved."""
    real_cls = Recorder
    with_checks, without = [], []
    try:
        for _ in range(rounds):
            local.Recorder = real_cls  # the class the local runner builds its recorder from
            with_checks.append(timed(run))
            local.Recorder = PlainRecorder
            without.append(timed(run))
    finally:
        local.Recorder = real_cls
    return min(with_checks), min(without)


def line(label: str, per: int, checked: float, plain: float) -> None:
    print(
        f"{label}: with checks {checked * 1e6 / per:7.3f} us | without {plain * 1e6 / per:7.3f} us | "
        f"ratio {checked / plain:5.3f}x (target <= 1.10x)"
    )


def main() -> None:
    n = 1000
    ints = deploy(seq(*([btrust_inc] * n)), tools=[], reasoners=[])
    ints.dry_run(0)
    line(f"seq N={n:,} int steps (per step)", n, *ab(lambda: ints.dry_run(0)))
    big = 100_000
    long_ints = deploy(seq(*([btrust_inc] * big)), tools=[], reasoners=[])
    long_ints.dry_run(0)
    line(f"seq N={big:,} int steps     ", big, *ab(lambda: long_ints.dry_run(0), rounds=3))
    items = list(range(n))
    per_item = deploy(each(btrust_inc), tools=[], reasoners=[])
    per_item.dry_run(items)
    line(f"each K={n:,} (per item)      ", n, *ab(lambda: per_item.dry_run(items)))
    texts = deploy(seq(*([btrust_text] * n)), tools=[], reasoners=[])
    word = "y" * 1000
    texts.dry_run(word)
    line(f"seq N={n:,} 1 KB strings     ", n, *ab(lambda: texts.dry_run(word)))

    from composable_agents.execution.local import _check_drift

    def drift_1000() -> None:
        for _ in range(1000):
            _check_drift(ints, None)

    drift = min(timed(drift_1000) for _ in range(5)) / 1000
    print(f"drift check per dry_run (1 pinned pure): {drift * 1e6:7.2f} us")

    from composable_agents.execution.staged import _check_plan_size

    plan = {"op": "seq", "steps": [{"op": "prim", "step": {"kind": "call", "tool": "t"}, "ann": {"costUsd": 0.1}}] * 20}
    def size_1000() -> None:
        for _ in range(1000):
            _check_plan_size(plan)

    size = min(timed(size_1000) for _ in range(5)) / 1000
    print(f"plan size check, 20-step plan: {size * 1e6:7.2f} us")

    grow = deploy(iter_up_to(400, arr("btrust.grow")), tools=[], reasoners=[])
    result = grow.dry_run("")
    kept = sum(value_bytes(v) for v in result.projection.values)
    print(
        f"growing loop (10 KB/round, 400 rounds, final value {len(result.value) / 1e6:.1f} MB): "
        f"projection keeps {kept / 1e6:.2f} MB (unbounded it would hold ~{sum(10_000 * r for r in range(401)) / 1e6:.0f} MB)"
    )


if __name__ == "__main__":
    main()
