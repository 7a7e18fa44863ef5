"""``python -m composable_agents.temporal.serve``: env config, health probe, a durable run, SIGTERM drain."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("temporalio", reason="the Temporal tests need temporalio: pip install 'composable-agents[temporal]'")

from composable_agents import deploy, think
from composable_agents.temporal.client import run_deployment
from composable_agents.temporal.devserver import DevServer, free_port

MODULE = textwrap.dedent(
    '''
    from composable_agents import Reasoner, pure, tool

    @tool(name="t8serve_lookup", effect="read", idempotent=True)
    def t8serve_lookup(ticket: str) -> dict[str, str]:
        return {"ticket": ticket}

    @pure("t8serve.prompt")
    def t8serve_prompt(hit: dict[str, str]) -> str:
        return "about " + hit["ticket"]

    T8SERVE_REPLY = Reasoner("t8serve_reply", "fake", reply=str)

    async def llm(reasoner, value):
        return f"{reasoner.name}: {value}"
    '''
)


def _health(port: int) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


async def test_serve_runs_flows_and_drains_on_sigterm(temporal_server: DevServer, tmp_path: Path) -> None:
    (tmp_path / "t8serve_mod.py").write_text(MODULE)
    sys.path.insert(0, str(tmp_path))
    try:
        import t8serve_mod  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(tmp_path))
    port = free_port()
    env = dict(
        os.environ,
        TEMPORAL_ADDRESS=temporal_server.target_host,
        COMPOSABLE_AGENTS_TASK_QUEUE="ca-tests-serve",
        COMPOSABLE_AGENTS_MODULES="t8serve_mod",
        COMPOSABLE_AGENTS_LLM="t8serve_mod:llm",
        COMPOSABLE_AGENTS_HEALTH_PORT=str(port),
        COMPOSABLE_AGENTS_DRAIN_S="2",
        PYTHONPATH=os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]),
    )
    proc = subprocess.Popen([sys.executable, "-m", "composable_agents.temporal.serve"], env=env)  # noqa: ASYNC220
    try:
        for _ in range(150):
            try:
                status, body = _health(port)
                break
            except OSError:
                await asyncio.sleep(0.1)
        assert (status, body) == (200, b"serving")
        deployment = deploy(t8serve_mod.t8serve_lookup >> t8serve_mod.t8serve_prompt >> think(t8serve_mod.T8SERVE_REPLY))
        client = await temporal_server.client()
        result = await run_deployment(deployment, client, input="T-7", task_queue="ca-tests-serve")
        assert result.raw_value == "t8serve_reply: about T-7"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
