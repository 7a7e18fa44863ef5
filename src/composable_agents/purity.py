"""Shim: the registry of named deterministic functions (pures) and their source pins."""

from composable_agents.core.pures import PureDef, Registry, register_pure, source_hash
from composable_agents.core.std import STD_NAMES, STD_PURES

__all__ = ["STD_NAMES", "STD_PURES", "PureDef", "Registry", "register_pure", "source_hash"]
