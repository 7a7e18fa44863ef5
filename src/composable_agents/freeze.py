"""Shim: freezing — content-hash binding of every tool and pin of every pure."""

from composable_agents.compiler.freeze import Frozen, execution_hash, freeze, retry_class

__all__ = ["Frozen", "freeze", "execution_hash", "retry_class"]
