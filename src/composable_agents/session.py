"""Shim (seed module name): sessions (authoring and the local backend).

The code lives in ``composable_agents.agents.sessions`` and ``composable_agents.execution.sessions``.
"""

from __future__ import annotations

from composable_agents.agents import sessions as _m0
from composable_agents.agents.sessions import *  # noqa: F403
from composable_agents.execution import sessions as _m1
from composable_agents.execution.sessions import *  # noqa: F403

__all__ = [*_m0.__all__, *_m1.__all__]
