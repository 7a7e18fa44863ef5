"""The deploy ledger: which artifact hash of which entry was deployed to which environment, when, from which commit.

A JSON file (``.ca/ledger.json`` by default)::

    {"version": 1, "envs": {"staging": {"triage": {"artifact_hash": "sha256:...",
      "kind": "flow", "deployed_at": "2026-12-04T18:00:00Z", "git_sha": "ab12..."}}}}

``ca deploy`` writes it (atomically: a temporary file renamed over the old
one), ``ca status`` and ``state:modified`` compare it with the code.
:func:`drift` is the comparison, a pure function over the two.

Rejected: storing the ledger in the trace store's database (a ledger is small,
reviewed in pull requests and diffed; a JSON file in the repository is the
thing dbt users expect).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from composable_agents.cli.console import USAGE, abort

__all__ = ["LEDGER_VERSION", "drift", "git_sha", "read_ledger", "record"]

LEDGER_VERSION: Final = 1
"""The ledger file's format version."""


def read_ledger(path: Path) -> dict[str, Any]:
    """The ledger at ``path`` (an empty one when the file does not exist)."""
    if not path.is_file():
        return {"version": LEDGER_VERSION, "envs": {}}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        abort(f"cannot read the ledger {path}: {exc}", USAGE)
    if not isinstance(doc, dict) or not isinstance(doc.get("envs"), dict):
        abort(f"{path} is not a ca ledger (no 'envs' table)", USAGE)
    return doc


def git_sha(root: Path) -> str | None:
    """The commit checked out at ``root`` (``None`` outside a git repository)."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    sha = done.stdout.strip()
    return sha if done.returncode == 0 and sha else None


def record(path: Path, env: str, entries: Mapping[str, tuple[str, str]], *, sha: str | None) -> dict[str, Any]:
    """Write ``entries`` (name -> (kind, artifact hash)) as deployed to ``env`` now; returns the new ledger."""
    doc = read_ledger(path)
    now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    table = doc["envs"].setdefault(env, {})
    for name, (kind, digest) in sorted(entries.items()):
        table[name] = {"artifact_hash": digest, "kind": kind, "deployed_at": now, "git_sha": sha}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return doc


def drift(deployed: Mapping[str, Mapping[str, Any]], current: Mapping[str, str]) -> dict[str, str]:
    """Each deployed name's state: ``ok``, ``modified`` (another hash now) or ``removed`` (gone from the code)."""
    out: dict[str, str] = {}
    for name, row in deployed.items():
        now = current.get(name)
        if now is None:
            out[name] = "removed"
        else:
            out[name] = "ok" if now == row.get("artifact_hash") else "modified"
    return out
