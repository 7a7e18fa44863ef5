"""Shim: freezing — content-hash binding of every tool and pin of every pure."""

from composable_agents.compiler.freeze import Frozen, execution_hash, freeze, retry_class
from composable_agents.compiler.snapshot import McpToolDef, Snapshot, snapshot_from_listings

__all__ = ["Frozen", "McpToolDef", "Snapshot", "execution_hash", "freeze", "retry_class", "snapshot_from_listings"]
