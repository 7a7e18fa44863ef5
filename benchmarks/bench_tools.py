"""Per-call overhead of our tool callers over the bare client libraries, on the same local servers.

    python benchmarks/bench_tools.py [--calls 100] [--rounds 15]

MCP: the bundled stdio server (``examples/mcp_research_server.py``), its ``fetch`` tool.
Baseline: a bare ``ClientSession.call_tool`` on the open ``stdio_client`` session. Measured:
``mcp_caller([server], snapshot=...)`` (pooled session, ``_meta`` with key and principal,
the live-vs-frozen listing check, the reply decoded to a value). Also shown, for scale: a new
session (a new server process) per call — what pooling avoids — and the caller's ``opened``
count after every call (target: 1, no new process per call).

HTTP: a stdlib ``ThreadingHTTPServer`` in a subprocess on 127.0.0.1. Baseline: a bare
``httpx.AsyncClient.post`` with an ``Idempotency-Key`` header and ``response.json()``.
Measured: the ``http_tool`` leaf's caller (headers, key, the status classification and the
output-type check).

The baseline and the measured caller are called in strict alternation, ``--calls`` x
``--rounds`` pairs; the figure is each side's median per-call wall time and the ratio is
measured / baseline (target <= 1.1x for both). The MCP baseline runs on the very session the
caller pools (same server process), so the ratio is the caller's own cost.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypedDict

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

SERVER = ROOT / "examples" / "mcp_research_server.py"

HTTP_SERVER = r"""
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def log_message(self, *a):
        return
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        data = json.dumps({"city": body["city"], "temp": 21}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


class City(TypedDict):
    city: str


class Forecast(TypedDict):
    city: str
    temp: int


async def per_call(fn: Callable[[int], Awaitable[Any]], calls: int) -> float:
    """Mean wall seconds per call of ``calls`` sequential calls."""
    start = time.perf_counter()
    for i in range(calls):
        await fn(i)
    return (time.perf_counter() - start) / calls


async def alternate(
    base: Callable[[int], Awaitable[Any]], ours: Callable[[int], Awaitable[Any]], calls: int, rounds: int
) -> tuple[float, float]:
    """Median per-call wall time of each, the two called in strict alternation (after a warm-up).

    Alternating call by call spreads whatever else the machine does evenly over both sides,
    and the median ignores the calls a context switch happened to land on.
    """
    for i in range(20):
        await base(i)
        await ours(i)
    b: list[float] = []
    o: list[float] = []
    clock = time.perf_counter
    for i in range(calls * rounds):
        t0 = clock()
        await base(i)
        t1 = clock()
        await ours(i)
        t2 = clock()
        b.append(t1 - t0)
        o.append(t2 - t1)
    return statistics.median(b), statistics.median(o)


def show(name: str, base: float, ours: float, target: float = 1.1) -> bool:
    ratio = ours / base
    ok = ratio <= target
    print(f"  {name:<40} {base * 1e6:8.1f} us -> {ours * 1e6:8.1f} us per call  {ratio:5.2f}x  {'ok' if ok else 'OVER'}")
    return ok


async def bench_mcp(calls: int, rounds: int) -> bool:
    from composable_agents.integrations.mcp import McpServer, asnapshot_from_servers, mcp_caller

    server = McpServer("library", command=sys.executable, args=[str(SERVER)])
    snapshot = await asnapshot_from_servers([server])
    print(f"MCP over stdio ({SERVER.name}, tool fetch), {calls * rounds} alternating call pairs")
    async with mcp_caller([server], snapshot=snapshot) as caller:

        async def ours(i: int) -> Any:
            return await caller("library", "fetch", {"paper_id": "p1"}, f"bench:$.{i}", principal={"t": "b"})

        await ours(0)  # opens the pooled session; the baseline then uses that very session
        session = next(iter(caller._loop_state().conns.values())).session
        assert session is not None

        async def bare(i: int) -> Any:
            result = await session.call_tool("fetch", {"paper_id": "p1"})
            return result.structured_content

        base, mine = await alternate(bare, ours, calls, rounds)
        ok = show("mcp_caller vs ClientSession.call_tool", base, mine)
        print(f"  connections (server processes) opened by mcp_caller for {calls * rounds + 21} calls: {caller.opened}")
        ok = ok and caller.opened == 1

    async def fresh(i: int) -> Any:
        async with mcp_caller([server]) as one:  # a new session, so a new server process, per call
            return await one("library", "fetch", {"paper_id": "p1"}, f"fresh:{i}")

    spawn = await per_call(fresh, 5)
    print(f"  for scale: a new session (process) per call: {spawn * 1e3:.1f} ms per call")
    return ok


async def bench_http(calls: int, rounds: int) -> bool:
    import httpx

    from composable_agents.integrations.http import http_tool

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    proc = subprocess.Popen([sys.executable, "-c", HTTP_SERVER, str(port)])  # noqa: ASYNC220 - once, before timing
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.05)
        url = f"http://127.0.0.1:{port}/weather"
        leaf = http_tool("bench.weather", url, input=City, output=Forecast)
        call = leaf.definition.fn
        assert call is not None
        print(f"HTTP (stdlib server on 127.0.0.1), {calls * rounds} alternating call pairs")
        async with httpx.AsyncClient() as client:

            async def bare(i: int) -> Any:
                response = await client.post(url, json={"city": "Oslo"}, headers={"Idempotency-Key": f"b:{i}"})
                response.raise_for_status()
                return response.json()

            async def ours(i: int) -> Any:
                return await call({"city": "Oslo"}, idempotency_key=f"bench:$.{i}")

            base, mine = await alternate(bare, ours, calls, rounds)
            return show("http_tool vs httpx.AsyncClient.post", base, mine)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def main(calls: int, rounds: int) -> int:
    ok_mcp = await bench_mcp(calls, rounds)
    print()
    ok_http = await bench_http(calls, rounds)
    print()
    print("targets met" if ok_mcp and ok_http else "a target was missed")
    return 0 if ok_mcp and ok_http else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.calls, args.rounds)))
