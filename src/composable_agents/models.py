"""Shim: ``composable_agents.models`` — model providers and the router; the code lives in ``composable_agents.integrations.models``."""

from composable_agents.integrations.models import (
    LLM, AnthropicProvider, ModelNotConfigured, OpenAIProvider, ProviderError, ProviderRefusal,
    ProviderUnavailable, Router, router,
)

__all__ = [
    "LLM", "AnthropicProvider", "ModelNotConfigured", "OpenAIProvider", "ProviderError",
    "ProviderRefusal", "ProviderUnavailable", "Router", "router",
]
