"""The testing kit for users: strategies, invariants and the pytest plugin (SPEC §21).

``pip install 'composable-agents[testing]'`` (hypothesis, hypothesis-jsonschema).
Property tests of your own flows and agents::

    from hypothesis import strategies as st
    from composable_agents.testing import check_flow, check_laws, replies

    check_flow(deployment, st.text(), max_examples=200)

The hypothesis-backed names (:func:`check_flow`, :func:`check_laws`, the
strategies) load on first use, so importing this package — which pytest does
for the plugin on every start — needs neither hypothesis nor temporalio.
Rejected: importing everything eagerly (every pytest run in a project without
the extra would fail at start-up).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from composable_agents.testing.fakes import FakeLLM, LLMRequest, UnscriptedReasoner

if TYPE_CHECKING:
    from composable_agents.testing.check import FlowCheckFailed, FlowReport, check_flow
    from composable_agents.testing.laws import LAWS, LawViolation, check_laws
    from composable_agents.testing.strategies import (
        action_is_valid,
        actions,
        bad_replies,
        json_values,
        plan_is_valid,
        plans,
        replies,
        reply_is_valid,
    )

__all__ = [
    "LAWS",
    "FakeLLM",
    "FlowCheckFailed",
    "FlowReport",
    "LLMRequest",
    "LawViolation",
    "UnscriptedReasoner",
    "action_is_valid",
    "actions",
    "bad_replies",
    "check_flow",
    "check_laws",
    "json_values",
    "plan_is_valid",
    "plans",
    "replies",
    "reply_is_valid",
]

_LAZY: dict[str, str] = {
    "FlowCheckFailed": "check",
    "FlowReport": "check",
    "check_flow": "check",
    "LAWS": "laws",
    "LawViolation": "laws",
    "check_laws": "laws",
    "action_is_valid": "strategies",
    "actions": "strategies",
    "bad_replies": "strategies",
    "json_values": "strategies",
    "plan_is_valid": "strategies",
    "plans": "strategies",
    "replies": "strategies",
    "reply_is_valid": "strategies",
}


def __getattr__(name: str) -> Any:
    """Load a hypothesis-backed name on first use, naming the extra when hypothesis is missing."""
    module = _LAZY.get(name)
    if module is None:
        msg = f"module 'composable_agents.testing' has no attribute {name!r}"
        raise AttributeError(msg)
    try:
        loaded = importlib.import_module(f"composable_agents.testing.{module}")
    except ImportError as exc:
        msg = f"composable_agents.testing.{name} needs the testing extra: pip install 'composable-agents[testing]' ({exc})"
        raise ImportError(msg) from exc
    value = getattr(loaded, name)
    globals()[name] = value
    return value
