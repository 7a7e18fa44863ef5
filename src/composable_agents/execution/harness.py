"""Shim (seed module name): the Temporal ``FlowWorkflow``; the code lives in ``composable_agents.temporal.workflow``."""

from __future__ import annotations

from composable_agents.temporal.workflow import FlowWorkflow

__all__ = ["FlowWorkflow"]
