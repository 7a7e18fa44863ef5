"""Shim: the capability manifest and the capability pass."""

from composable_agents.compiler.capabilities import (
    Budget,
    CapabilityManifest,
    ToolGrant,
    VersionConstraint,
    check_capabilities,
)

__all__ = ["Budget", "CapabilityManifest", "ToolGrant", "VersionConstraint", "check_capabilities"]
