"""Shim: the capability manifest and the capability pass."""

from composable_agents.compiler.capabilities import (
    Budget,
    CapabilityManifest,
    ToolGrant,
    VersionConstraint,
    check_capabilities,
)

__all__ = ["CapabilityManifest", "ToolGrant", "Budget", "VersionConstraint", "check_capabilities"]
