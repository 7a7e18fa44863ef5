"""mypy time on a generated N-step typed pipeline, with and without the plugin, in one run.

For each N (100, 200, 300 by default) a module defines N single-argument
typed tools (alternating ``int -> str`` and ``str -> int``) and chains them
with ``>>`` into one pipeline, plus an ``N``-step ``typed.seq`` in chunks of 6.
Each configuration (``--strict`` alone, ``--strict`` + ``composable_agents.mypy``)
first warms its own cache on a module that only imports the library, so the
timings measure the generated module, not the library. Reported: wall seconds
per run (best of ``--repeat``), the net time above the warm baseline, the
plugin/no-plugin ratio, and seconds per step (flat means linear growth).

Run: ``.venv/bin/python benchmarks/bench_mypy.py [--steps 100,200,300] [--repeat 2]``
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONFIGS = {
    "no plugin": "[mypy]\nstrict = True\n",
    "plugin": "[mypy]\nstrict = True\nplugins = composable_agents.mypy\n",
}


def generate(steps: int) -> str:
    lines = [
        "from composable_agents import tool, typed",
        "from composable_agents.typed import Pipeline",
        "",
    ]
    for i in range(steps):
        src, dst = ("int", "str") if i % 2 == 0 else ("str", "int")
        body = "str(x)" if i % 2 == 0 else "len(x)"
        lines += [
            f'@tool(effect="read", name="bench_t{i}")',
            f"def t{i}(x: {src}) -> {dst}:",
            f"    return {body}",
            "",
        ]
    out = "int" if steps % 2 == 0 else "str"
    chain = " >> ".join(f"t{i}" for i in range(steps))
    lines.append(f"flow: Pipeline[int, {out}] = {chain}")
    # the n-ary form, in chunks of 6 (its largest typed arity), chained with >>
    chunks = [
        f"typed.seq({', '.join(f't{j}' for j in range(i, min(i + 6, steps)))})"
        if min(i + 6, steps) - i >= 2
        else f"t{i}"
        for i in range(0, steps, 6)
    ]
    lines.append(f"flow_seq: Pipeline[int, {out}] = " + " >> ".join(chunks))
    return "\n".join(lines) + "\n"


def run_mypy(config: Path, cache: Path, target: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(config),
            "--cache-dir",
            str(cache),
            str(target),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        msg = f"mypy failed on {target.name}:\n{proc.stdout}{proc.stderr}"
        raise SystemExit(msg)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="100,200,300")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    sizes = [int(s) for s in args.steps.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        warm = root / "bench_warm.py"
        warm.write_text("import composable_agents\nimport composable_agents.typed\n")
        modules = {}
        for n in sizes:
            modules[n] = root / f"bench_pipeline_{n}.py"
            modules[n].write_text(generate(n))
        results: dict[str, dict[int, float]] = {}
        baselines: dict[str, float] = {}
        for name, text in CONFIGS.items():
            config = root / f"{name.replace(' ', '_')}.ini"
            config.write_text(text)
            cache = root / f"cache_{name.replace(' ', '_')}"
            run_mypy(config, cache, warm)  # warm the library's cache for this configuration
            baselines[name] = min(run_mypy(config, cache, warm) for _ in range(args.repeat))
            results[name] = {}
            for n, module in modules.items():
                # a fresh copy each time: mypy must re-check the module, never reuse its cache
                times = []
                for r in range(args.repeat):
                    copy = root / f"bench_pipeline_{n}_{name.replace(' ', '_')}_{r}.py"
                    copy.write_text(module.read_text())
                    times.append(run_mypy(config, cache, copy))
                results[name][n] = min(times)
    print(f"mypy {_mypy_version()} | best of {args.repeat} | warm-cache baseline (import only):")
    for name, base in baselines.items():
        print(f"  {name:>9}: {base:6.2f} s")
    print()
    print(
        f"{'steps':>5} | {'no plugin':>10} | {'plugin':>10} | {'net no-plugin':>13} | {'net plugin':>10} | "
        f"{'ratio (net)':>11} | {'ms/step plugin':>14}"
    )
    for n in sizes:
        a, b = results["no plugin"][n], results["plugin"][n]
        na, nb = a - baselines["no plugin"], b - baselines["plugin"]
        ratio = nb / na if na > 0 else float("nan")
        print(
            f"{n:>5} | {a:>9.2f}s | {b:>9.2f}s | {na:>12.2f}s | {nb:>9.2f}s | {ratio:>10.2f}x | {1000 * nb / n:>13.1f}"
        )


def _mypy_version() -> str:
    from mypy.version import __version__

    return __version__


if __name__ == "__main__":
    main()
