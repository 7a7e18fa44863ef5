"""The process-wide registry (``DEFAULT_REGISTRY``) of pures, tools, reasoners and named flows."""

from composable_agents.core.pures import DEFAULT_REGISTRY, Registry, register_pure

__all__ = ["DEFAULT_REGISTRY", "Registry", "register_pure"]
