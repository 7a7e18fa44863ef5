"""Real LLM providers behind ``think`` and the agent loop (public as ``composable_agents.models``).

:func:`router` returns the :data:`LLM` every runner accepts
(``Deployment.dry_run(..., llm=)``, ``arun``, ``Agent(llm=)``,
``run_worker(llm=)``); :class:`AnthropicProvider` and :class:`OpenAIProvider`
configure its two providers (extras ``anthropic`` and ``openai``; each SDK is
imported only when its first call is made). The error classes live in
:mod:`composable_agents.errors` with the rest of the taxonomy and are
re-exported here. Rejected alternative: a provider registry users extend by
subclassing — the seam is one callable type, so any function is a provider.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias

from composable_agents.authoring.leaves import Reasoner
from composable_agents.core.canonical import Json
from composable_agents.errors import (
    ModelNotConfigured,
    ProviderError,
    ProviderRefusal,
    ProviderUnavailable,
)
from composable_agents.integrations.models.anthropic import AnthropicProvider
from composable_agents.integrations.models.openai import OpenAIProvider
from composable_agents.integrations.models.router import Router, router

__all__ = [
    "LLM",
    "AnthropicProvider",
    "ModelNotConfigured",
    "OpenAIProvider",
    "ProviderError",
    "ProviderRefusal",
    "ProviderUnavailable",
    "Router",
    "router",
]

LLM: TypeAlias = Callable[[Reasoner[Any, Any], Json], Awaitable[Json] | Json]
"""The effect seam of every reasoner call: ``llm(reasoner, value)`` (optionally taking ``principal=``, ``offer=``)."""
