"""Per-call overhead of ``models.router()`` over a bare SDK call, against one local server.

Both sides make the same Messages API / Chat Completions call to the same
local server (``tests/integrations/models/llm_server.py``, run out of
process so its threads do not share this process's GIL), with the same SDK
client settings (``max_retries=0``, one client reused). The router side adds
what it does per call: the request build, the reply mapping, the usage
record and the ``genai-prices`` cost. Reported: median µs per call over
1,000 calls at concurrency 1 and 32, and the ratio router / bare (target
≤ 1.1×). Blocks alternate bare/router so drift hits both alike.

On a shared machine the A/B medians drift with the load, so a second,
paired figure is measured in the same calls: the router's providers hand the
SDK a client proxy that times the SDK call itself, and each routed call's
overhead is its total minus its own SDK time (median µs, and the ratio
``1 + overhead / SDK time``).

    .venv/bin/python benchmarks/bench_models.py [--calls 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SERVER = ROOT / "tests" / "integrations" / "models" / "llm_server.py"

__all__ = ["main"]


async def _measure(call: Callable[[], Awaitable[Any]], calls: int, concurrency: int) -> list[float]:
    """Latency (µs) of each of ``calls`` calls made by ``concurrency`` workers."""
    latencies: list[float] = []
    left = calls

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            start = time.perf_counter()
            await call()
            latencies.append((time.perf_counter() - start) * 1e6)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


_CALL_SPENT: ContextVar[list[float] | None] = ContextVar("_CALL_SPENT", default=None)


class _Timed:
    """Forwards to an SDK client, timing ``messages.create``/``chat.completions.create`` into the calling task's list."""

    def __init__(self, target: Any) -> None:
        self._target = target

    def __getattr__(self, name: str) -> Any:
        inner = getattr(self._target, name)
        if name == "create":

            async def create(**kwargs: Any) -> Any:
                start = time.perf_counter()
                try:
                    return await inner(**kwargs)
                finally:
                    spent = _CALL_SPENT.get()
                    if spent is not None:
                        spent.append((time.perf_counter() - start) * 1e6)

            return create
        if name in ("messages", "chat", "completions"):
            return _Timed(inner)
        return inner


async def _paired(llm: Any, reasoner: Any, prompt: Any, calls: int, concurrency: int) -> tuple[float, float]:
    """Median (overhead µs, SDK µs) per routed call, each call's overhead taken against its own SDK time."""
    overheads: list[float] = []
    sdk: list[float] = []
    left = calls

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            mine: list[float] = []
            token = _CALL_SPENT.set(mine)  # per task: concurrent calls never mix their timings
            try:
                start = time.perf_counter()
                await llm(reasoner, prompt)
                total = (time.perf_counter() - start) * 1e6
            finally:
                _CALL_SPENT.reset(token)
            overheads.append(total - mine[0])
            sdk.append(mine[0])

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return statistics.median(overheads), statistics.median(sdk)


async def _run(port: int, calls: int) -> None:
    import anthropic
    import openai

    from composable_agents.authoring.leaves import Reasoner
    from composable_agents.integrations.models import AnthropicProvider, OpenAIProvider, router

    a_url, o_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port}/v1"
    bare_a = anthropic.AsyncAnthropic(api_key="k", base_url=a_url, timeout=60.0, max_retries=0)
    bare_o = openai.AsyncOpenAI(api_key="k", base_url=o_url, timeout=60.0, max_retries=0)
    llm = router(
        anthropic=AnthropicProvider(api_key="k", base_url=a_url), openai=OpenAIProvider(api_key="k", base_url=o_url)
    )
    class TimedAnthropic(AnthropicProvider):
        def client(self) -> Any:
            return _Timed(super().client())

    class TimedOpenAI(OpenAIProvider):
        def client(self) -> Any:
            return _Timed(super().client())

    timed = router(anthropic=TimedAnthropic(api_key="k", base_url=a_url), openai=TimedOpenAI(api_key="k", base_url=o_url))
    ra = Reasoner("bench_a", "anthropic:claude-haiku-4-5", system="be brief")
    ro = Reasoner("bench_o", "openai:gpt-4o-mini", system="be brief")
    prompt = {"ticket": "T-1", "text": "charged twice"}
    text = '{"ticket":"T-1","text":"charged twice"}'

    async def bare_anthropic() -> Any:
        return await bare_a.messages.create(
            model="claude-haiku-4-5", max_tokens=1024, system="be brief", messages=[{"role": "user", "content": text}]
        )

    async def bare_openai() -> Any:
        return await bare_o.chat.completions.create(
            model="gpt-4o-mini",
            max_tokens=1024,
            messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": text}],
        )

    async def routed_anthropic() -> Any:
        return await llm(ra, prompt)

    async def routed_openai() -> Any:
        return await llm(ro, prompt)

    pairs = {"anthropic": (bare_anthropic, routed_anthropic), "openai": (bare_openai, routed_openai)}
    for bare, routed in pairs.values():  # warm up: connections, SDK lazy imports, the price table
        for _ in range(50):
            await bare()
            await routed()
    print(f"{'provider':<10} {'conc':>4} {'bare µs':>10} {'router µs':>10} {'ratio':>6}   (median per call, {calls} calls)")
    blocks = 10
    paired: dict[tuple[str, int], tuple[float, float]] = {}
    for name, (bare, routed) in pairs.items():
        for concurrency in (1, 32):
            got: dict[str, list[float]] = {"bare": [], "router": []}
            for _ in range(blocks):
                got["bare"] += await _measure(bare, calls // blocks, concurrency)
                got["router"] += await _measure(routed, calls // blocks, concurrency)
            b = statistics.median(got["bare"])
            r = statistics.median(got["router"])
            print(f"{name:<10} {concurrency:>4} {b:>10.0f} {r:>10.0f} {r / b:>6.3f}")
            paired[(name, concurrency)] = await _paired(timed, ra if name == "anthropic" else ro, prompt, calls, concurrency)
    print(f"\npaired, same calls: {'provider':<10} {'conc':>4} {'overhead µs':>12} {'SDK µs':>10} {'ratio':>6}")
    for (name, concurrency), (over, sdk) in paired.items():
        print(f"                    {name:<10} {concurrency:>4} {over:>12.0f} {sdk:>10.0f} {1 + over / sdk:>6.3f}")


def main() -> None:
    """Start the server, measure, print, stop the server by PID."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args()
    proc = subprocess.Popen(
        [sys.executable, str(SERVER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # blocks until the server prints its port: readiness, not a sleep
        if not line.startswith("PORT "):
            msg = f"the local LLM server did not start: {line!r}"
            raise RuntimeError(msg)
        asyncio.run(_run(int(line.split()[1]), args.calls))
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
