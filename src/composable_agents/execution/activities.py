"""Shim (seed module name): the Temporal activities; the code lives in ``composable_agents.temporal.activities``."""

from __future__ import annotations

from composable_agents.temporal.activities import FlowActivities

__all__ = ["FlowActivities"]
