"""Shim (seed module name): the ``Agent`` facade; the code lives in ``composable_agents.agents.agent``."""

from __future__ import annotations

from composable_agents.agents.agent import Agent, agent_trace, with_status

__all__ = ["Agent", "agent_trace", "with_status"]
