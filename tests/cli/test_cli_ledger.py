"""``ca deploy``/``ca status``/``state:modified``: the ledger, and drift (exit 3) after a tool's body changes."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from cli_fixtures import Ca


def test_deploy_records_and_status_detects_drift(ca: Ca, project: Path) -> None:
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    subprocess.run(["git", "-c", "user.email=t@e", "-c", "user.name=t", "commit", "-q", "--allow-empty", "-m", "x"],
                   cwd=project, check=True)
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True, check=True).stdout.strip()

    done = ca("deploy", "+escalate.v1", "--env", "staging")
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(
        r"deployed escalate\.v1 to staging: sha256:[0-9a-f]{64}\ndeployed triage\.v1 to staging: sha256:[0-9a-f]{64}\n",
        done.stdout,
    )
    ledger = json.loads((project / ".ca" / "ledger.json").read_text())
    row = ledger["envs"]["staging"]["triage.v1"]
    assert set(row) == {"artifact_hash", "kind", "deployed_at", "git_sha"}
    assert (row["kind"], row["git_sha"]) == ("flow", sha)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", row["deployed_at"])

    clean = ca("status", "--env", "staging")
    assert clean.returncode == 0
    assert [line.split()[:2] for line in clean.stdout.splitlines()] == [
        ["NAME", "STATE"], ["escalate.v1", "ok"], ["triage.v1", "ok"]]

    # Edit the body of a tool triage.v1 calls: its definition hash, so the artifact hash, moves.
    tools = project / "support" / "tools.py"
    tools.write_text(tools.read_text().replace('"queue": "billing"', '"queue": "refunds"'))
    drift = ca("status", "--env", "staging")
    assert drift.returncode == 3
    assert [line.split()[:2] for line in drift.stdout.splitlines()] == [
        ["NAME", "STATE"], ["escalate.v1", "modified"], ["triage.v1", "modified"]]
    assert drift.stderr == "error: drift in staging: escalate.v1, triage.v1\n"
    doc = json.loads(ca("status", "--env", "staging", "--format", "json").stdout)
    triage = next(r for r in doc["entries"] if r["name"] == "triage.v1")
    assert triage["deployed_hash"] == row["artifact_hash"] != triage["current_hash"]
    modified = ca("ls", "state:modified", "--env", "staging", "--exclude", "tag:billing")
    assert [line.split()[0] for line in modified.stdout.splitlines()[1:]] == ["echo", "escalate.v1", "helper", "triage.v1"]

    # Redeploying clears the drift; an entry removed from the code is drift too.
    assert ca("deploy", "tag:support", "--env", "staging").returncode == 0
    assert ca("status", "--env", "staging").returncode == 0
    agents = project / "support" / "agents.py"
    agents.write_text(agents.read_text().replace('Agent("helper"', 'Agent("helper2"'))
    gone = ca("status", "--env", "staging")
    assert gone.returncode == 3 and "helper       removed" in gone.stdout


def test_deploy_refuses_blocking_entries_and_records_nothing(ca: Ca, project: Path) -> None:
    done = ca("deploy", "tag:billing", "--env", "prod")
    assert done.returncode == 1
    assert "not deployed; blocking diagnostics in\nquick_refund:" in done.stderr
    assert "APPROVAL_UNGATED" in done.stderr
    assert not (project / ".ca" / "ledger.json").exists()
    assert ca("status", "--env", "prod").stdout == "nothing deployed to prod\n"
