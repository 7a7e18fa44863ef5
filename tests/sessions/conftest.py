"""Route app/stage/session-channel nodes to the agent runtime until the interpreter dispatches them itself."""

from __future__ import annotations

import pytest

from composable_agents.execution import agent_runtime, interpreter


@pytest.fixture(autouse=True)
def wired(monkeypatch: pytest.MonkeyPatch) -> None:
    original = interpreter.Program._compile

    def _compile(self, node, nid, parent, prev):  # type: ignore[no-untyped-def]
        fn = agent_runtime.route(node)
        if fn is not None:
            return fn(self, node, nid, parent, prev)
        return original(self, node, nid, parent, prev)

    monkeypatch.setattr(interpreter.Program, "_compile", _compile)
