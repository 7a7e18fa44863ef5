"""Shim (seed module name): the agent loop (controller protocol, budgets) and plan extraction.

The code lives in ``composable_agents.execution.agent_loop`` and ``composable_agents.agents.plans``.
"""

from __future__ import annotations

from composable_agents.agents import plans as _m1
from composable_agents.agents.plans import *  # noqa: F403
from composable_agents.execution import agent_loop as _m0
from composable_agents.execution.agent_loop import *  # noqa: F403

__all__ = [*_m0.__all__, *_m1.__all__]
