"""Shim (seed module name): the agent loop (controller protocol, budgets) and plan extraction; the code lives in ``composable_agents.execution.agent_loop`` and ``composable_agents.agents.plans``."""

from __future__ import annotations

from composable_agents.execution.agent_loop import (
    ACTIONS, CONST_PURE, CONTROLLER_MODE_KEY, DEFAULT_CONTROLLER_COST_USD, DEFAULT_MAX_ROUNDS,
    Action, BudgetGuard, CallSub, CallTool, ControllerError, ControllerMode, Escalate, Finish,
    action_json, denial, estimate_tokens, parse_action, round_input, trace_entry,
)
from composable_agents.agents.plans import (
    ExtractedPlan, PromotedPlan, agent_trace, extract_plan, generalize_trace_to_plan,
    promote_plan,
)

__all__ = [
    "ACTIONS", "CONST_PURE", "CONTROLLER_MODE_KEY", "DEFAULT_CONTROLLER_COST_USD",
    "DEFAULT_MAX_ROUNDS", "Action", "BudgetGuard", "CallSub", "CallTool", "ControllerError",
    "ControllerMode", "Escalate", "Finish", "action_json", "denial", "estimate_tokens",
    "parse_action", "round_input", "trace_entry", "ExtractedPlan", "PromotedPlan",
    "agent_trace", "extract_plan", "generalize_trace_to_plan", "promote_plan",
]
