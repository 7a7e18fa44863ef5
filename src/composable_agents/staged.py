"""Shim (seed module name): staged-plan compilation.

The code lives in ``composable_agents.execution.staged``.
"""

from __future__ import annotations

from composable_agents.execution import staged as _m0
from composable_agents.execution.staged import *  # noqa: F403

__all__ = [*_m0.__all__]
