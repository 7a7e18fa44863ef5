"""Resilience for effect callers: provider fallback and a circuit breaker.

These wrap the *callables* a worker is given (``llm``, ``mcp_call``), never
the IR: a fallback changes which provider answers, not what the flow means,
so it is deployment configuration and stays out of the artifact hash.

* :class:`CircuitBreaker` opens after ``failure_threshold`` consecutive
  failures and refuses calls (``CircuitOpen``) until ``reset_after_s`` has
  passed on its clock; then one trial call decides whether it closes again.
* :func:`with_fallback` tries providers in order, moving on only for errors
  the policy calls transient (never for policy errors, which are verdicts).

Rejected alternative: retrying inside the interpreter — the Env already owns
retries of the same provider; fallback across providers belongs to the caller.
"""

from __future__ import annotations

import email.utils
import inspect
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from composable_agents.errors import ComposableAgentsError

__all__ = ["CircuitBreaker", "CircuitOpen", "FallbackPolicy", "is_transient", "retry_after", "with_fallback"]

T = TypeVar("T")


class CircuitOpen(ComposableAgentsError, RuntimeError):
    """A call refused because its circuit breaker is open."""


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` may succeed on another provider (policy errors never do)."""
    if isinstance(exc, ComposableAgentsError):
        return not exc.non_retryable
    return isinstance(exc, OSError | TimeoutError | ConnectionError | RuntimeError)


@dataclass
class CircuitBreaker:
    """Open after ``failure_threshold`` consecutive failures; half-open after ``reset_after_s``."""

    failure_threshold: int = 5
    reset_after_s: float = 30.0
    clock: Callable[[], float] = time.monotonic
    failures: int = 0
    opened_at: float | None = None

    @property
    def state(self) -> str:
        """``"closed"``, ``"open"`` or ``"half_open"``."""
        if self.opened_at is None:
            return "closed"
        return "half_open" if self.clock() - self.opened_at >= self.reset_after_s else "open"

    def before(self) -> None:
        """Raise :class:`CircuitOpen` when calls are refused right now."""
        if self.state == "open":
            msg = f"circuit open after {self.failures} consecutive failures; retry after {self.reset_after_s}s"
            raise CircuitOpen(msg)

    def success(self) -> None:
        """Record a success: the circuit closes."""
        self.failures = 0
        self.opened_at = None

    def failure(self) -> None:
        """Record a failure: open the circuit at the threshold (or re-open after a failed trial)."""
        self.failures += 1
        if self.failures >= self.failure_threshold or self.opened_at is not None:
            self.opened_at = self.clock()

    async def call(self, fn: Callable[..., Awaitable[T] | T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn`` through the breaker."""
        self.before()
        try:
            result = fn(*args, **kwargs)
            if inspect.isawaitable(result):
                result = await result
        except BaseException:
            self.failure()
            raise
        self.success()
        return result


@dataclass
class FallbackPolicy:
    """Which errors move on to the next provider, and a breaker per provider."""

    transient: Callable[[BaseException], bool] = is_transient
    breakers: list[CircuitBreaker] = field(default_factory=list)


def with_fallback(*providers: Callable[..., Any], policy: FallbackPolicy | None = None) -> Callable[..., Awaitable[Any]]:
    """One async caller trying ``providers`` in order; the last error is raised if all fail."""
    if not providers:
        msg = "with_fallback() needs at least one provider"
        raise ValueError(msg)
    pol = policy or FallbackPolicy()
    while len(pol.breakers) < len(providers):
        pol.breakers.append(CircuitBreaker())

    async def call(*args: Any, **kwargs: Any) -> Any:
        last: BaseException | None = None
        for provider, breaker in zip(providers, pol.breakers, strict=False):
            try:
                return await breaker.call(provider, *args, **kwargs)
            except CircuitOpen as exc:
                last = exc
            except Exception as exc:
                if not pol.transient(exc):
                    raise
                last = exc
        assert last is not None
        raise last

    return call


def retry_after(value: str | None, *, cap: float, now: float | None = None) -> float | None:
    """A ``Retry-After`` value (delta seconds or an HTTP date) as seconds from ``now``, within ``[0, cap]``.

    ``None`` when absent or unreadable (NaN included): the caller then waits
    its own backoff. HTTP tools and model providers both read the header
    through this one parser.
    """
    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), cap)
