"""The examples under the testing kit: generated inputs and model replies, every invariant of SPEC §21."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from hypothesis import strategies as st

from composable_agents import deploy
from composable_agents.testing import check_flow

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(name: str) -> ModuleType:
    key = f"_example_{name}"
    if key in sys.modules:
        return sys.modules[key]
    spec = importlib.util.spec_from_file_location(key, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[key] = module
    spec.loader.exec_module(module)
    return module


def test_quickstart_holds_for_every_reply_its_schema_allows() -> None:
    quickstart = load("quickstart")
    report = check_flow(quickstart.deployment, st.text(max_size=30), max_examples=30)
    assert report.statuses.get("ok", 0) > 0  # valid SupportReply records flowed through
    assert set(report.statuses) <= {"ok", "failed"}  # failed only on off-schema replies
    assert report.invalid_runs == report.statuses.get("failed", 0)


def test_typed_triage_routes_or_rejects_whatever_the_classifier_says() -> None:
    typed_triage = load("typed_triage")
    tickets = st.sampled_from(["T-1", "T-2", "T-404"])
    report = check_flow(deploy(typed_triage.flow), tickets, max_examples=25)
    # The classifier has no reply type: as_type(Urgent, Routine) is the flow's boundary, and it held.
    assert report.examples == 25
    assert set(report.statuses) <= {"ok", "failed"}
