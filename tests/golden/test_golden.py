"""The golden corpus: each fixture's frozen IR JSON, shapes and artifact hash, pinned.

A failure here means the wire format, normalization, hashing or freezing
changed. If that is deliberate, regenerate with ``scripts/regen_golden.py``
and review the diff; otherwise it is a regression.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from composable_agents.core.canonical import canonical_dumps
from composable_agents.core.ir import Node

HERE = Path(__file__).resolve().parent


def _load() -> ModuleType:
    name = "ca_golden_fixtures"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, HERE / "fixtures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


FIXTURES = _load()
NAMES = sorted(FIXTURES.FIXTURES)
REQUIRED = {"simple_pipeline", "fan_out", "switch", "iter", "sub_firewall"}


def _golden(name: str) -> dict[str, Any]:
    data = json.loads((HERE / f"{name}.json").read_text(encoding="utf-8"))
    data.pop("_note", None)
    return data


def test_corpus_has_one_file_per_fixture() -> None:
    assert REQUIRED <= set(NAMES)
    files = {p.stem for p in HERE.glob("*.json")}
    assert files == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_fixture_matches_its_golden_file(name: str) -> None:
    expected = _golden(name)
    actual = FIXTURES.golden_record(name)
    assert set(expected) == {"flow", "surface_shape", "closed_shape", "artifact_hash"}
    assert actual["surface_shape"] == expected["surface_shape"]
    assert actual["closed_shape"] == expected["closed_shape"]
    assert canonical_dumps(actual["flow"]) == canonical_dumps(expected["flow"])
    assert actual["artifact_hash"] == expected["artifact_hash"]


@pytest.mark.parametrize("name", NAMES)
def test_golden_flow_decodes_and_reencodes_identically(name: str) -> None:
    flow = _golden(name)["flow"]
    node = Node.from_json(flow)
    assert canonical_dumps(node.to_json()) == canonical_dumps(flow)


def test_firewall_fixture_differs_between_surface_and_closed() -> None:
    data = _golden("sub_firewall")
    assert data["surface_shape"] == "Pipeline" and data["closed_shape"] == "Feedback"
