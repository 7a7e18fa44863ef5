"""``ca run`` (live trace tree, fakes, exit codes, the trace store) and ``ca trace`` (tree, HTML)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cli_fixtures import FAKE, Ca, _env

TRIAGE_TREE = [
    "  ok lookup_ticket [prim] $.0 0ms $0.0000",
    "    ok ident [ident] $.1.0 0ms $0.0000",
    "      ok ticket_prompt [arr] $.1.1.0 0ms $0.0000",
    "      ok support_reply [prim] $.1.1.1 0ms $0.0000",
    "    ok seq [seq] $.1.1 0ms $0.0000",
    "  ok par [par] $.1 0ms $0.0000",
    "  ok std.merge [arr] $.2 0ms $0.0000",
    "ok seq [seq] $ 0ms $0.0000",
]
VALUE = {"ticket": "T-1", "queue": "billing", "summary": "Use the duplicate-charge runbook.",
         "reply": "billing: Use the duplicate-charge runbook."}


def test_run_streams_the_tree_records_the_run_and_trace_reads_it(ca: Ca, project: Path) -> None:
    done = ca("run", "triage.v1", "--input", '"T-1"', "--fake", FAKE, "--run-id", "r-1")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines() == [*TRIAGE_TREE, "status: ok", f"value: {json.dumps(VALUE)}", "cost: $0.0000",
                                        "run id: r-1"]
    traced = ca("trace", "r-1")
    assert traced.returncode == 0
    lines = traced.stdout.splitlines()
    assert lines[0] == "run r-1  flow triage.v1  status ok"
    assert lines[1:] == ["ok seq [seq] $ 0ms $0.0000", "  ok lookup_ticket [prim] $.0 0ms $0.0000",
                         "  ok par [par] $.1 0ms $0.0000", "    ok ident [ident] $.1.0 0ms $0.0000",
                         "    ok seq [seq] $.1.1 0ms $0.0000", "      ok ticket_prompt [arr] $.1.1.0 0ms $0.0000",
                         "      ok support_reply [prim] $.1.1.1 0ms $0.0000", "  ok std.merge [arr] $.2 0ms $0.0000"]
    doc = json.loads(ca("trace", "r-1", "--format", "json").stdout)
    assert doc["status"] == "ok" and len(doc["events"]) == 8
    out = project / "r-1.html"
    page = ca("trace", "r-1", "--html", str(out))
    assert (page.returncode, page.stdout) == (0, f"wrote {out}\n")
    html = out.read_text()
    assert html.lstrip().lower().startswith("<!doctype html") and "lookup_ticket" in html
    missing = ca("trace", "r-404")
    assert missing.returncode == 2 and "no run 'r-404'" in missing.stderr


def test_run_input_from_a_file_and_a_generated_run_id(ca: Ca, project: Path) -> None:
    (project / "in.json").write_text('"T-1"')
    done = ca("run", "triage.v1", "--input", "@in.json", "--fake", FAKE)
    assert done.returncode == 0
    last = done.stdout.splitlines()[-1]
    assert last.startswith("run id: triage.v1-") and len(last) == len("run id: triage.v1-") + 12


def test_each_activation_is_printed_as_it_completes(project: Path) -> None:
    release = project / "release"
    proc = subprocess.Popen(
        [sys.executable, "-m", "composable_agents", "run", "slow.v1", "-m", "support.slow", "--input",
         json.dumps(str(release))],
        cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        # The first step is on screen while the second still waits: the tree is live, not printed at the end.
        assert first.startswith("  ok first_step [prim] $.0 ")
        assert proc.poll() is None
        release.write_text("go")
        rest, _err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    assert rest.splitlines()[:3] == ["  ok wait_for_file [prim] $.1 0ms $0.0000", "ok seq [seq] $ 0ms $0.0000",
                                     "status: ok"]


def test_run_exit_codes(ca: Ca) -> None:
    timeout = ca("run", "refund.v1", "--input", '"O-1"', "--run-id", "g-1")
    assert timeout.returncode == 1
    assert timeout.stdout.splitlines()[1:3] == [
        "status: timeout",
        'detail: {"approved": false, "reason": "timeout", "by": null, "input": "O-1", "gate": "$.0"}',
    ]
    approved = ca("run", "refund.v1", "--input", '"O-1"', "--gate", "approve")
    assert approved.returncode == 0 and 'value: {"order": "O-1", "refunded": "yes"}' in approved.stdout
    blocked = ca("run", "quick_refund", "--input", '"O-1"')
    assert blocked.returncode == 1 and "quick_refund does not pass a strict deploy" in blocked.stderr
    no_fake = ca("run", "triage.v1", "--input", '"T-1"')
    assert no_fake.returncode == 2
    assert no_fake.stderr == "error: no fake for reasoner(s) support_reply: pass --fake NAME=module:fn for each, or --live\n"
    bad_json = ca("run", "triage.v1", "--input", "{nope", "--fake", FAKE)
    assert bad_json.returncode == 2 and "--input is not JSON" in bad_json.stderr
    bad_fake = ca("run", "triage.v1", "--fake", "support_reply")
    assert bad_fake.returncode == 2 and "write --fake REASONER=MODULE:FUNCTION" in bad_fake.stderr
    session = ca("run", "echo", "--input", '"hi"')
    assert session.returncode == 2 and "echo is a session: talk to it with `ca chat echo`" in session.stderr
    agent = ca("run", "helper", "--input", '"q"', "--fake", "helper.controller=support.fakes:controller", "--fake", FAKE)
    assert agent.returncode == 0 and 'value: {"answer": "q"}' in agent.stdout


def test_run_live_calls_the_router_against_a_local_messages_api(ca: Ca, project: Path) -> None:
    import pytest

    pytest.importorskip("anthropic", reason="--live with an anthropic: model needs the anthropic SDK")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integrations" / "models"))
    from llm_server import LLMServer, anthropic_text

    server = LLMServer(responder=lambda api, body: anthropic_text("billing")).start()
    try:
        done = ca("run", "summary.v1", "-m", "support.live", "--live", "--input", '"charged twice"', "--run-id", "live-1",
                  ANTHROPIC_API_KEY="test-key", ANTHROPIC_BASE_URL=server.anthropic_url)
        bodies = server.bodies("anthropic")
    finally:
        server.stop()
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1:3] == ["status: ok", 'value: "billing"']
    assert done.stdout.splitlines()[0].startswith("ok summarize [prim] $ ")
    assert len(bodies) == 1 and bodies[0]["messages"][0]["content"] == "charged twice"
    unconfigured = ca("run", "summary.v1", "-m", "support.live", "--live", "--input", '"x"', ANTHROPIC_API_KEY="")
    assert unconfigured.returncode == 2 and "no API key for anthropic" in unconfigured.stderr
