"""The main job (``examples/run_durable.py``) runs every example durably and prints the documented outcomes.

One subprocess: a fresh dev server, an in-process worker with each example's
fakes, every example's runs. The values are the ones the examples produce
locally (``tests/examples/test_examples_agents.py``, ``test_quickstart.py``,
``typed_triage.py``'s printed lines): the durable runs must match them.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

if importlib.util.find_spec("temporalio") is None:
    pytest.skip("the main job needs temporalio: pip install 'composable-agents[temporal]'", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = {
    "ticket": "Customer was charged twice.",
    "queue": "billing",
    "summary": "Use the duplicate-charge runbook.",
    "reply": "billing: Use the duplicate-charge runbook.",
}
EXPECTED: dict[str, tuple[str, Any]] = {
    "quickstart": ("ok", QUICKSTART),
    "quickstart_arrows": ("ok", {"reply": QUICKSTART["reply"]}),
    "typed_triage T-1": ("ok", {"ticket": "T-1", "action": "paged on-call: checkout outage", "mood": -1.0}),
    "typed_triage T-2": ("ok", {"ticket": "T-2", "action": "queued to billing", "mood": 0.5}),
    "episode_summary first": ("ok", {"saved": True, "conflict": False, "version": 4}),
    "episode_summary replay": ("ok", {"saved": True, "conflict": False, "version": 4}),
    "episode_summary stale": ("ok", {"saved": False, "conflict": True, "version": 5}),
    "cluster_labeling": ("ok", [
        {"id": "c1", "size": 4, "confidence": "high", "label": "billing",
         "description": "3 examples like 'refund request'"},
        {"id": "c2", "size": 2, "confidence": "low", "label": "account",
         "description": "2 examples like 'password reset'"},
        {"id": "c3", "size": 3, "confidence": "high", "label": "feature-request",
         "description": "3 examples like 'dark mode please'"},
    ]),
    "support_triage T-100": (
        "ok", {"ticket": "T-100", "resolution": "refunded", "refunded": 42, "customer": "ada"}
    ),
    "support_triage T-200": ("escalated", "T-200: cannot log in needs a human"),
    "research_assistant tight": ("over_budget", {"refused": "tool:research_fetch", "spent": pytest.approx(0.022)}),
    "research_assistant roomy": (
        "ok", {"topic": "durable execution", "notes": ["notes from temporal.io/docs", "notes from dbos.dev/why"]}
    ),
    "email_approval approved": ("ok", {"sent": True, "to": "ada@example.com"}),
    "email_approval rejected": ("rejected", "wrong tone"),
    "session_demo": ("closed", ["(1) you said: hello", "(2) you said: what is a carrier?"]),
    "mcp_research": ("ok", {"id": "note-1", "topic": "durable agents", "created": True}),
}


@pytest.fixture(scope="module")
def main_job() -> subprocess.CompletedProcess[str]:
    from composable_agents.temporal.devserver import find_temporal_binary

    try:
        find_temporal_binary()
    except ImportError as exc:
        pytest.skip(str(exc))
    return subprocess.run(
        [sys.executable, str(ROOT / "examples" / "run_durable.py")],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
        check=False,
    )


def outcomes(stdout: str) -> dict[str, tuple[str, Any]]:
    """``name: status=...`` lines and the ``  value: <json>`` line after each."""
    found: dict[str, tuple[str, Any]] = {}
    lines = stdout.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^(\S.*?): status=(\S+)", line)
        if m and i + 1 < len(lines) and lines[i + 1].startswith("  value: "):
            found[m.group(1)] = (m.group(2), json.loads(lines[i + 1][len("  value: "):]))
    return found


def test_main_job_exits_0_and_every_example_ends_as_documented(main_job: subprocess.CompletedProcess[str]) -> None:
    assert main_job.returncode == 0, main_job.stdout[-3000:] + main_job.stderr[-3000:]
    assert "all examples ended with their expected status" in main_job.stdout
    got = outcomes(main_job.stdout)
    for name, (status, value) in EXPECTED.items():
        assert name in got, f"{name} not run:\n{main_job.stdout[-3000:]}"
        assert got[name] == (status, value), name


def test_main_job_shows_the_durable_details(main_job: subprocess.CompletedProcess[str]) -> None:
    out = main_job.stdout
    bad = outcomes(out)["typed_triage bad-reply"]
    assert bad[0] == "failed" and bad[1]["error"] == "StepTypeError" and bad[1]["path"] == "$.kind"
    assert "check: same value as the first run: yes" in out  # the rerun applied its write once
    assert 'stored: {"version": 5, "summary": "ep-7: Ada and Grace discuss durable workflows."}' in out
    assert 'denied: ["crm_delete_customer"]; rounds: 5; refunds: 1' in out
    assert "fetched: []" in out  # the refused fetch never ran
    assert "email_approval approved: open gates ['$.1']; answering approved=True" in out
    assert 'sent: ["ada@example.com"]' in out  # only the approved run sent
    assert "check: a retried send got the same ack: yes" in out
    events = [json.loads(line) for line in out.split("  events:\n", 1)[1].splitlines() if line.startswith("    {")]
    assert [e["kind"] for e in events] == ["turn", "emit", "turn", "turn", "emit", "turn", "closed"]
    assert "trace:" in out and "dev server stopped" in out
    # the MCP example's tools ran as activities against the live server
    assert re.search(r"\$\.1\s+prim\s+library/search\s+-> \{\"topic\": \"durable agents\"", out), out[-2000:]
    assert re.search(r"\$\.3\s+prim\s+library/save_note\s+-> \{\"id\": \"note-1\"", out), out[-2000:]


def test_main_job_stores_its_runs_and_draws_them(main_job: subprocess.CompletedProcess[str]) -> None:
    from composable_agents.integrations.store import TraceStore

    out = main_job.stdout
    found = re.search(r"^traces: (\d+) runs stored in (\S+); HTML pages: (\S+) \(one page per run\)$", out, re.MULTILINE)
    assert found, out[-2000:]
    assert int(found.group(1)) >= len(EXPECTED) - 1  # every flow and agent run (the session is not a flow run)
    assert found.group(2) == "sqlite:///.ca/traces.db"
    index = ROOT / found.group(3)
    pages = re.findall(r'href="([^"]+)"', index.read_text())
    assert len(pages) == int(found.group(1))
    run_id = re.search(r"^quickstart: status=ok run_id=(\S+)$", out, re.MULTILINE)
    assert run_id, out[:2000]
    with TraceStore.open(f"sqlite:///{ROOT}/.ca/traces.db") as store:
        stored = store.get_run(run_id.group(1))
    assert stored is not None and stored.status == "ok"
    assert stored.started_at is not None and stored.started_at > 1e12  # workflow time: epoch milliseconds
    assert {e.get("tool") for e in stored.events} >= {"lookup_ticket"}
    page = (index.parent / f"{run_id.group(1)}.html").read_text()
    assert "Timeline" in page and "lookup_ticket" in page
