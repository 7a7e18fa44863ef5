"""docs/testing.md's worked example runs as written and finds the bug it describes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from composable_agents.testing import FlowCheckFailed

DOC = Path(__file__).resolve().parents[2] / "docs" / "testing.md"


def test_the_worked_example_finds_the_overwritten_id() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    flow_block, check_block = blocks[0], blocks[1]
    namespace: dict[str, object] = {"__name__": "docs_testing_example"}
    exec(compile(flow_block, f"{DOC}:flow", "exec"), namespace)  # noqa: S102 - the doc's own code
    with pytest.raises(FlowCheckFailed) as info:
        exec(compile(check_block, f"{DOC}:check", "exec"), namespace)  # noqa: S102
    text = str(info.value)
    assert info.value.invariant == "your check"
    assert 'doc_namer [reply, valid]: {"id":null,"label":""}' in text  # shrunk exactly as the doc shows
    assert 'input: {"clusters":[{"id":"c1"}],"taxonomy":"billing|account"}' in text
