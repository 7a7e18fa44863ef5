"""Cold start of the ``ca`` CLI: ``ca ls`` on a generated project of 50 flows.

    python benchmarks/bench_cli.py [--flows 50] [--trials 7]

Generates a project (a ``pyproject.toml`` with ``[tool.composable-agents]``,
one module of ``--flows`` tagged ``@flow``s of three steps, each flow after
the first calling the previous one through ``sub``, and five agents), then
times fresh processes (wall clock, min and median of ``--trials``):

- ``python -c pass`` (the interpreter alone),
- ``python -c "import composable_agents"`` plus the project's module (the
  baseline: what any tool that imports the project pays),
- ``ca ls`` and ``ca ls --format json`` (discovery, DAG, render),
- ``ca --help`` (the app without a project).

Target: ``ca ls`` under 1.5 s; the ratio to the baseline shows what the CLI
itself adds (typer, discovery, the dependency walk).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def make_project(root: Path, flows: int) -> None:
    """A project with ``flows`` flows (a sub-flow chain) and a few agents."""
    (root / "big").mkdir(parents=True)
    (root / "big" / "__init__.py").write_text('"""Generated for bench_cli."""\n')
    (root / "pyproject.toml").write_text(
        '[project]\nname = "bench-cli"\nversion = "0"\n\n[tool.composable-agents]\nmodules = ["big.flows"]\n'
    )
    lines = [
        '"""Generated flows."""',
        "from composable_agents import Agent, flow, pure, sub, tool",
        "",
        "@tool(effect='read', idempotent=True)",
        "def fetch(x: str) -> dict[str, str]:",
        "    return {'x': x}",
        "",
        "@pure('shape_it')",
        "def shape_it(d: dict[str, str]) -> dict[str, str]:",
        "    return {**d, 'shaped': 'yes'}",
        "",
        "@tool(effect='read', idempotent=True)",
        "def store(d: dict[str, str]) -> str:",
        "    return d['x']",
        "",
    ]
    for i in range(flows):
        lines += [
            f"@flow(name='flow{i}.v1', tags=('t{i % 5}', 'bench'))",
            f"def flow{i}(x: str) -> str:",
            "    hit = fetch(x)",
            "    out = shape_it(hit)",
            "    return store(out)",
            "",
        ]
        if i:
            lines += [f"chain{i} = (sub('flow{i - 1}.v1') >> fetch >> shape_it >> store).named('chain{i}.v1')", ""]
    for j in range(5):
        lines += [f"agent{j} = Agent('agent{j}', tools=[fetch], subflows=[flow{j}], tags=('agents',))", ""]
    (root / "big" / "flows.py").write_text("\n".join(lines))


def timed(cmd: list[str], cwd: Path, trials: int) -> tuple[float, float]:
    """(min, median) wall seconds of ``trials`` fresh runs of ``cmd``."""
    runs = []
    for _ in range(trials):
        start = time.perf_counter()
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
        runs.append(time.perf_counter() - start)
        if done.returncode != 0:
            msg = f"{cmd} failed ({done.returncode}): {done.stderr[-2000:]}"
            raise SystemExit(msg)
    return min(runs), statistics.median(runs)


def main() -> None:
    """Generate the project and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=50)
    parser.add_argument("--trials", type=int, default=7)
    args = parser.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_project(root, args.flows)
        listed = subprocess.run([py, "-m", "composable_agents", "ls", "--format", "json"], cwd=root,
                                capture_output=True, text=True, check=True)
        entries = listed.stdout.count('"name"')
        print(f"project: {args.flows} flows, {entries} entries (flows, sub-flow chains, agents); {args.trials} trials")
        interp = timed([py, "-c", "pass"], root, args.trials)
        base = timed([py, "-c", "import sys; sys.path.insert(0, '.'); import composable_agents, big.flows"], root, args.trials)
        ls = timed([py, "-m", "composable_agents", "ls"], root, args.trials)
        js = timed([py, "-m", "composable_agents", "ls", "--format", "json"], root, args.trials)
        helped = timed([py, "-m", "composable_agents", "--help"], root, args.trials)
        for label, (lo, med) in (
            ("python -c pass", interp),
            ("import composable_agents + project (baseline)", base),
            ("ca ls", ls),
            ("ca ls --format json", js),
            ("ca --help", helped),
        ):
            print(f"{label:<48} min {lo * 1000:7.0f} ms   median {med * 1000:7.0f} ms")
        print(f"ca ls / baseline (median): {ls[1] / base[1]:.2f}x; target ca ls < 1500 ms: "
              f"{'met' if ls[1] < 1.5 else 'NOT met'}")


if __name__ == "__main__":
    main()
