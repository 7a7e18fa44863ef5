"""Throughput of ``check_flow`` on a 5-step flow with one reasoner, and where its time goes.

Prints examples per second for ``check_flow`` (each example runs the flow
twice: scheduler seeds 1 and 2), the share of wall time spent inside the runs
themselves (``FlowReport.run_seconds`` over the total) — the rest is
hypothesis (generation, shrinking bookkeeping) and the kit's own checks — and,
as the baseline measured in the same process, plain ``dry_run`` calls per
second of the same flow with a constant fake. A cProfile pass splits the
total by package (hypothesis, hypothesis_jsonschema, composable_agents).

Run: ``.venv/bin/python benchmarks/bench_testing.py [examples]``
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import time
from typing import TypedDict

from hypothesis import strategies as st

from composable_agents import Reasoner, deploy, flow, pure, think, tool
from composable_agents.testing import check_flow


class Summary(TypedDict):
    title: str
    labels: list[str]
    score: float


bt_summarize = Reasoner(name="bt_summarize", model="fake", reply=Summary)


@tool(name="bt_fetch", effect="read", idempotent=True)
def bt_fetch(q: str) -> str:
    return f"document about {q}"


@pure("bt.clean")
def bt_clean(text: str) -> str:
    return " ".join(text.split())


@pure("bt.prompt")
def bt_prompt(doc: str) -> str:
    return f"Summarize: {doc}"


@pure("bt.render")
def bt_render(s: Summary) -> str:
    labels = ", ".join(s["labels"]) or "none"
    return f"{s['title']} [{labels}] {s['score']:.2f}"


@flow
def bt_flow(q: str) -> str:
    text = bt_clean(q)
    doc = bt_fetch(text)
    prompt = bt_prompt(doc)
    summary = think(bt_summarize, prompt)
    return bt_render(summary)


DEP = deploy(bt_flow, tools=[bt_fetch], reasoners=[bt_summarize])
CONSTANT = {"bt_summarize": lambda v: {"title": "t", "labels": ["a"], "score": 0.5}}


def baseline_runs_per_s(budget_s: float = 1.0) -> float:
    """Plain dry_run calls per second of the same flow with a constant fake."""
    n = 0
    start = time.perf_counter()
    while time.perf_counter() - start < budget_s:
        DEP.dry_run("q", reasoners=CONSTANT, seed=1)
        n += 1
    return n / (time.perf_counter() - start)


def main() -> None:
    examples = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    from hypothesis import settings

    quiet = settings(max_examples=examples, deadline=None, database=None)
    check_flow(DEP, st.text(max_size=20), max_examples=20, settings=settings(quiet, max_examples=20))  # warm-up
    start = time.perf_counter()
    report = check_flow(DEP, st.text(max_size=20), settings=quiet)
    total = time.perf_counter() - start
    rate = report.examples / total
    share = report.run_seconds / total
    base = baseline_runs_per_s()
    print(f"check_flow: {report.examples} examples in {total:.2f}s = {rate:.0f} examples/s")
    print(f"  statuses: {report.statuses}; runs with an invalid reply: {report.invalid_runs}")
    runs_only = report.run_seconds - report.draw_seconds
    print(f"  inside dry_run (2 runs per example): {report.run_seconds:.2f}s = {share:.0%} of the total")
    print(f"    of which reply draws (hypothesis): {report.draw_seconds:.2f}s = {report.draw_seconds / total:.0%}")
    print(f"  outside hypothesis (the runs without draws): {runs_only:.2f}s = {runs_only / total:.0%} of the total")
    print(f"  hypothesis + the kit's checks (the rest): {total - runs_only:.2f}s = {1 - runs_only / total:.0%}")
    print(f"baseline dry_run: {base:.0f} runs/s -> ideal check_flow rate {base / 2:.0f} examples/s; ratio {rate / (base / 2):.2f}")

    profiler = cProfile.Profile()
    profiler.enable()
    check_flow(DEP, st.text(max_size=20), settings=quiet)
    profiler.disable()
    stats = pstats.Stats(profiler)
    own: dict[str, float] = {}
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if "hypothesis_jsonschema" in filename:
            bucket = "hypothesis_jsonschema"
        elif "/hypothesis/" in filename:
            bucket = "hypothesis"
        elif "composable_agents/testing" in filename:
            bucket = "composable_agents.testing (the kit)"
        elif "composable_agents" in filename:
            bucket = "composable_agents (the runs)"
        elif "asyncio" in filename:
            bucket = "asyncio (the runs' event loops)"
        else:
            bucket = "other (stdlib, builtins)"
        own[bucket] = own.get(bucket, 0.0) + tottime
    whole = sum(own.values()) or 1.0
    print("cProfile self time by package:")
    for bucket, seconds in sorted(own.items(), key=lambda kv: -kv[1]):
        print(f"  {bucket:38s} {seconds:6.2f}s {seconds / whole:6.1%}")


if __name__ == "__main__":
    main()
