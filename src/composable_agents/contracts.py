"""Shim: tool contracts and definitions, and sub-flow contracts."""

from composable_agents.authoring.leaves import ToolContract, ToolDef
from composable_agents.core.ir import Contract

__all__ = ["Contract", "ToolContract", "ToolDef"]
