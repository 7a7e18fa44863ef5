"""Shim (seed module name): staged-plan compilation; the code lives in ``composable_agents.execution.staged``."""

from __future__ import annotations

from composable_agents.execution.staged import (
    DEFAULT_THINK_COST_USD, MAX_PLAN_ATTEMPTS, MAX_PLAN_BYTES, MAX_PLAN_DEPTH, MAX_PLAN_INT,
    MAX_PLAN_NODES, MAX_PLAN_ROUNDS, MAX_PLAN_SHAPE, PLAN_CODES, PlanContext, check_plan,
    compile_plan, estimate_cost, parse_plan, plan_context,
)

__all__ = [
    "DEFAULT_THINK_COST_USD", "MAX_PLAN_ATTEMPTS", "MAX_PLAN_BYTES", "MAX_PLAN_DEPTH",
    "MAX_PLAN_INT", "MAX_PLAN_NODES", "MAX_PLAN_ROUNDS", "MAX_PLAN_SHAPE", "PLAN_CODES",
    "PlanContext", "check_plan", "compile_plan", "estimate_cost", "parse_plan", "plan_context",
]
