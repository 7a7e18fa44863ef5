"""Shim: validation and the admission checks, each usable on its own."""

from composable_agents.compiler.admission import check_race_admission
from composable_agents.compiler.approval import check_approval
from composable_agents.compiler.budget import check_budget, estimate
from composable_agents.compiler.passes import admission, run_all
from composable_agents.compiler.validate import looks_secret, validate, validate_frozen

__all__ = [
    "admission",
    "check_approval",
    "check_budget",
    "check_race_admission",
    "estimate",
    "looks_secret",
    "run_all",
    "validate",
    "validate_frozen",
]
