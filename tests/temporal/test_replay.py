"""Committed histories of the example runs replay cleanly; a changed pure body is caught.

``tests/histories/*.json`` were recorded with
``python examples/run_durable.py --only quickstart --save-histories tests/histories`` (the file
name is the workflow id). Replaying needs no server: the artifact rides in
each history's input, and the example module registers the pures.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

pytest.importorskip("temporalio", reason="the Temporal tests need temporalio: pip install 'composable-agents[temporal]'")

from temporalio.client import WorkflowHistory

from composable_agents.core.pures import DEFAULT_REGISTRY
from composable_agents.errors import PureDriftError
from composable_agents.temporal import env as temporal_env
from composable_agents.temporal.artifact import check_pure_pins, decode_artifact, pure_hashes
from composable_agents.temporal.worker import build_replayer

pytestmark = pytest.mark.asyncio(loop_scope="module")

ROOT = Path(__file__).resolve().parents[2]
HISTORIES = sorted((ROOT / "tests" / "histories").glob("*.json"))


def _quickstart() -> ModuleType:
    if "quickstart" in sys.modules:
        return sys.modules["quickstart"]
    spec = importlib.util.spec_from_file_location("quickstart", ROOT / "examples" / "quickstart.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["quickstart"] = module
    with contextlib.redirect_stdout(io.StringIO()):
        spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _restore_contexts() -> Iterator[None]:
    saved = dict(temporal_env._CONTEXTS)
    yield
    temporal_env._CONTEXTS.clear()
    temporal_env._CONTEXTS.update(saved)


def _history(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text())


async def test_histories_are_committed() -> None:
    assert len(HISTORIES) >= 2, "record them with examples/run_durable.py --only quickstart --save-histories tests/histories"


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_history_replays(path: Path) -> None:
    _quickstart()
    replayer = build_replayer()
    result = await replayer.replay_workflow(_history(path))
    assert result.replay_failure is None


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_changed_pure_body_breaks_replay(path: Path) -> None:
    _quickstart()
    edited = DEFAULT_REGISTRY.copy()

    def ticket_prompt(hit: dict[str, str]) -> dict[str, str]:
        return {"queue": hit["queue"].upper(), "context": hit["summary"]}

    edited.register_pure("ticket_prompt", ticket_prompt, replace=True)
    replayer = build_replayer(registry=edited)
    history = _history(path)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    # The workflow now fails before its first step, where the history scheduled an activity.
    assert result.replay_failure is not None
    assert "nondeterminism" in str(result.replay_failure).lower()
    # ...and the reason is the pin check on the artifact the history carries.
    payload = json.loads(history.events[0].workflow_execution_started_event_attributes.input.payloads[0].data)
    pins = decode_artifact(payload)["manifest"]["pures"]  # type: ignore[index]
    with pytest.raises(PureDriftError, match="ticket_prompt"):
        check_pure_pins(pins, pure_hashes(edited))
