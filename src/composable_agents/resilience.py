"""Shim (seed module name): fallback chains and circuit breakers; the code lives in ``composable_agents.execution.resilience``."""

from __future__ import annotations

from composable_agents.execution.resilience import (
    CircuitBreaker,
    CircuitOpen,
    FallbackPolicy,
    is_transient,
    retry_after,
    with_fallback,
)

__all__ = ["CircuitBreaker", "CircuitOpen", "FallbackPolicy", "is_transient", "retry_after", "with_fallback"]
