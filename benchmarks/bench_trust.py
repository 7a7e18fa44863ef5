"""The cost of issue 13's part-B trust checks, measured A/B in one process (prints lines; not a test).

Run: ``.venv/bin/python benchmarks/bench_trust.py``

The extra checks are switched off (A: the detector before issue 13, no
structural schema comparison, no JSON check of tool results, no source capture)
and on (B: as shipped), alternating, best of several runs each, on the flows
of ``bench_interpreter.py`` and ``bench_deploy.py``. Because both arms run in
the same process on the same load, the ratio B/A is meaningful even on a busy
machine where absolute figures are not. Target: B/A <= 1.10 for the
interpreter figures (SPEC §22, issue 13) and the deploy figures.
"""

from __future__ import annotations

import gc
import importlib.util
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_deploy
import bench_interpreter

from composable_agents import deploy, seq, tool
from composable_agents.compiler import validate as _validate
from composable_agents.core import source as _source
from composable_agents.execution import _ops_effects

ROUNDS = 5


def _old_detector() -> Callable[[str | None, Any], bool]:
    """``looks_secret`` as it was before issue 13 (from git), or the current one if git is unavailable."""
    try:
        text = subprocess.run(
            ["git", "show", "3e28bb3:src/composable_agents/core/secrets.py"],
            capture_output=True, text=True, check=True, cwd=HERE.parent,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return _validate.looks_secret
    path = Path("/tmp") / "ca_bench_old_secrets.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("ca_bench_old_secrets", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    found: Callable[[str | None, Any], bool] = module.looks_secret
    return found


NEW = {"looks_secret": _validate.looks_secret, "conflict": _validate._conflict, "not_json": _ops_effects.not_json}
OLD = {"looks_secret": _old_detector(), "conflict": lambda *_a, **_k: None, "not_json": lambda *_a: None}


def arm(checks: dict[str, Any], capture: bool) -> None:
    _validate.looks_secret = checks["looks_secret"]  # type: ignore[attr-defined]
    _validate._conflict = checks["conflict"]  # type: ignore[attr-defined]
    _ops_effects.not_json = checks["not_json"]  # type: ignore[attr-defined]
    _source.set_source_capture(capture)


def timed(fn: Callable[[], Any]) -> float:
    gc.collect()
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def ab(label: str, setup: Callable[[], Callable[[], Any]], per: int, unit: str) -> None:
    a: list[float] = []
    b: list[float] = []
    for _ in range(ROUNDS):
        for checks, capture, out in ((OLD, False, a), (NEW, True, b)):
            arm(checks, capture)
            run = setup()
            out.append(min(timed(run) for _ in range(3)))
    best_a, best_b = min(a), min(b)
    print(f"{label:<44} A {best_a * 1e6 / per:9.3f} {unit} | B {best_b * 1e6 / per:9.3f} {unit} | B/A {best_b / best_a:5.2f}")


def main() -> None:
    print(f"python {sys.version.split()[0]}; A = checks off, B = issue-13 checks on; best of {ROUNDS}x3")

    def seq_1000() -> Callable[[], Any]:
        d = deploy(seq(*([bench_interpreter.bench_inc] * 1000)), tools=[], reasoners=[])
        return lambda: d.dry_run(0)

    @tool(name="bench_trust_inc", effect="read")
    def bench_trust_inc(x: int) -> int:
        return x + 1

    @tool(name="bench_trust_rec", effect="read")
    def bench_trust_rec(x: dict[str, int]) -> dict[str, int]:
        return {"n": x["n"] + 1}

    def tools_1000() -> Callable[[], Any]:
        d = deploy(seq(*([bench_trust_inc] * 1000)), reasoners=[])
        return lambda: d.dry_run(0)

    def records_1000() -> Callable[[], Any]:
        d = deploy(seq(*([bench_trust_rec] * 1000)), reasoners=[])
        return lambda: d.dry_run({"n": 0})

    def big_deploy() -> Callable[[], Any]:
        flow, _ = bench_interpreter.big_flow(10_000)
        return lambda: deploy(flow, tools=[], reasoners=[])

    def gates_deploy() -> Callable[[], Any]:
        flow = bench_deploy.build(10_000)
        return lambda: deploy(flow, tools=bench_deploy.TOOLS, capabilities=bench_deploy.CAPABILITIES,
                              registry=bench_deploy.REGISTRY)

    def build_and_deploy() -> Callable[[], Any]:
        return lambda: deploy(bench_deploy.build(10_000), tools=bench_deploy.TOOLS,
                              capabilities=bench_deploy.CAPABILITIES, registry=bench_deploy.REGISTRY)

    ab("interpreter: seq of 1,000 pures (steady)", seq_1000, 1000, "us/step")
    ab("interpreter: seq of 1,000 int tools", tools_1000, 1000, "us/step")
    ab("interpreter: seq of 1,000 record tools", records_1000, 1000, "us/step")
    ab("deploy: 10,001-node mixed flow (interpreter)", big_deploy, 1, "us")
    ab("deploy: 10,000 nodes, gates + manifest", gates_deploy, 1, "us")
    ab("build + deploy: 10,000 nodes (capture on)", build_and_deploy, 1, "us")
    arm(NEW, True)


if __name__ == "__main__":
    main()
