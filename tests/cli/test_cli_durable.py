"""The durable verbs against a real dev server that ``ca dev`` starts (and stops on SIGINT, by PID).

``dev`` + ``trigger`` (with and without ``--wait``) + ``gates``/``approve``/``reject`` + ``listen`` +
``replay`` of a run fetched from the server + ``worker`` on its own task queue + ``chat --backend temporal``.
One ``ca dev`` serves the whole module; the last test stops it and checks that its server died.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_fixtures import FAKE, Dev, _env, alive, run_ca, wait_for

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def _gates(dev: Dev, run_id: str) -> list[dict[str, str]]:
    done = dev.ca("gates", run_id, "--format", "json")
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))


def test_dev_prints_and_writes_its_address(dev: Dev) -> None:
    info = json.loads((dev.root / ".ca" / "dev.json").read_text())
    assert info["address"].startswith("127.0.0.1:")
    assert alive(info["pid"]) and alive(info["server_pid"])
    log = (dev.root.parent / "dev.log").read_text()
    assert f"dev server at {dev.address} (pid {dev.server_pid})" in log


def test_trigger_and_wait(dev: Dev) -> None:
    done = dev.ca("trigger", "triage.v1", "--input", '"T-7"', "--id", "triage-7", "--wait")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:2] == ["started triage.v1 as triage-7", "status: ok"]
    assert json.loads(lines[2].removeprefix("value: "))["reply"] == "billing: Use the duplicate-charge runbook."
    # --wait recorded the durable run in the project's trace store.
    traced = dev.ca("trace", "triage-7")
    assert traced.returncode == 0 and "support_reply [prim] $.1.1.1" in traced.stdout


def test_gates_approve_listen_and_replay(dev: Dev) -> None:
    started = dev.ca("trigger", "refund.v1", "--input", '"O-1"', "--id", "refund-a")
    assert (started.returncode, started.stdout) == (0, "started refund.v1 as refund-a\n")
    wait_for(lambda: _gates(dev, "refund-a") == [{"run_id": "refund-a", "gate": "$.0"}], 30, "the gate to open")
    listed = dev.ca("gates")
    assert listed.returncode == 0 and ["refund-a", "$.0"] in [line.split() for line in listed.stdout.splitlines()]
    approved = dev.ca("approve", "refund-a", "$.0", "--by", "ana")
    assert (approved.returncode, approved.stdout) == (0, "approved $.0 of refund-a\n")
    followed = dev.ca("listen", "refund-a")
    assert followed.returncode == 0, followed.stderr
    assert followed.stdout.splitlines()[-2:] == ["status: ok", 'value: {"order": "O-1", "refunded": "yes"}']
    assert "issue_refund [prim] $.1" in followed.stdout
    again = dev.ca("approve", "refund-a", "$.0")
    assert again.returncode == 1 and "has no open gate at '$.0'" in again.stderr
    replayed = dev.ca("replay", "refund-a")
    assert (replayed.returncode, replayed.stdout) == (0, "replayed refund-a: deterministic\n")
    unknown = dev.ca("listen", "no-such-run")
    assert unknown.returncode == 2 and "no run 'no-such-run'" in unknown.stderr


def test_reject_ends_the_run_rejected(dev: Dev) -> None:
    assert dev.ca("trigger", "refund.v1", "--input", '"O-2"', "--id", "refund-b").returncode == 0
    wait_for(lambda: _gates(dev, "refund-b") != [], 30, "the gate to open")
    rejected = dev.ca("reject", "refund-b", "$.0", "--reason", "duplicate")
    assert (rejected.returncode, rejected.stdout) == (0, "rejected $.0 of refund-b\n")
    followed = dev.ca("listen", "refund-b")
    assert followed.returncode == 1
    assert "status: rejected" in followed.stdout and '"reason": "duplicate"' in followed.stdout


def test_worker_on_its_own_task_queue(dev: Dev) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "composable_agents", "worker", "--task-queue", "cli-q2", "--fake", FAKE],
        cwd=dev.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith(f"worker on {dev.address} hosting ")
        done = dev.ca("trigger", "triage.v1", "--input", '"T-8"', "--task-queue", "cli-q2", "--wait")
        assert done.returncode == 0 and "status: ok" in done.stdout
    finally:
        proc.send_signal(signal.SIGINT)
        out, _err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and out.endswith("worker stopped\n")


def test_address_from_the_option_and_the_environment(dev: Dev, tmp_path: Path) -> None:
    # Outside the project there is no .ca/dev.json: --address, else $TEMPORAL_ADDRESS, names the server.
    by_option = run_ca("gates", "refund-a", "--address", dev.address, cwd=tmp_path)
    assert (by_option.returncode, by_option.stdout) == (0, "no open gates\n")
    by_env = run_ca("gates", "refund-a", "--format", "json", cwd=tmp_path, TEMPORAL_ADDRESS=dev.address)
    assert (by_env.returncode, by_env.stdout) == (0, "[]\n")
    nothing = run_ca("gates", cwd=tmp_path)
    assert nothing.returncode == 2 and "no Temporal server" in nothing.stderr


def test_chat_on_the_temporal_backend(dev: Dev) -> None:
    done = dev.ca("chat", "echo", "--backend", "temporal", stdin="hello\nagain\n/quit\n")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("chat with echo (temporal); /quit to end\n")
    assert "< #1: hello" in out and "< #2: again" in out and out.endswith("bye after 2 turn(s)\n")


def test_sigint_stops_the_worker_and_the_server(dev: Dev) -> None:
    dev.process.send_signal(signal.SIGINT)
    dev.process.wait(timeout=30)
    assert dev.process.returncode == 0
    deadline = time.monotonic() + 10
    while alive(dev.server_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(dev.server_pid), "ca dev left its Temporal server running"
    assert not (dev.root / ".ca" / "dev.json").exists()
    assert (dev.root.parent / "dev.log").read_text().endswith("stopped the worker and the dev server\n")
    gone = dev.ca("gates")
    assert gone.returncode == 2 and "no Temporal server" in gone.stderr
