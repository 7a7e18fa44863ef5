"""Provider fallback and the circuit breaker."""

from __future__ import annotations

from typing import Any

import pytest

from composable_agents.errors import CapabilityDenied
from composable_agents.execution.resilience import (
    CircuitBreaker,
    CircuitOpen,
    FallbackPolicy,
    with_fallback,
)


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


async def test_breaker_opens_at_threshold_and_half_opens_after_reset() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=2, reset_after_s=10, clock=clock)

    def boom() -> None:
        raise ConnectionError("down")

    for _ in range(2):
        with pytest.raises(ConnectionError):
            await breaker.call(boom)
    assert breaker.state == "open"
    with pytest.raises(CircuitOpen):
        await breaker.call(lambda: 1)
    clock.t = 10
    assert breaker.state == "half_open"
    assert await breaker.call(lambda: 7) == 7
    assert breaker.state == "closed" and breaker.failures == 0


async def test_a_failed_trial_reopens_the_circuit() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=1, reset_after_s=5, clock=clock)
    with pytest.raises(TimeoutError):
        await breaker.call(_raise(TimeoutError()))
    clock.t = 5
    with pytest.raises(TimeoutError):
        await breaker.call(_raise(TimeoutError()))
    assert breaker.state == "open"


def _raise(exc: BaseException) -> Any:
    def fn() -> None:
        raise exc

    return fn


async def test_fallback_moves_on_for_transient_errors_only() -> None:
    seen: list[str] = []

    async def primary(reasoner: str, value: Any) -> Any:
        seen.append("primary")
        raise ConnectionError("primary down")

    def secondary(reasoner: str, value: Any) -> Any:
        seen.append("secondary")
        return {"by": "secondary", "value": value}

    call = with_fallback(primary, secondary)
    assert await call("r", 1) == {"by": "secondary", "value": 1}
    assert seen == ["primary", "secondary"]

    def denied(reasoner: str, value: Any) -> Any:
        raise CapabilityDenied("not granted")

    strict = with_fallback(denied, secondary)
    with pytest.raises(CapabilityDenied):
        await strict("r", 1)


async def test_fallback_skips_an_open_provider_and_raises_the_last_error() -> None:
    policy = FallbackPolicy(breakers=[CircuitBreaker(failure_threshold=1), CircuitBreaker(failure_threshold=1)])
    call = with_fallback(_raise(OSError("a")), _raise(OSError("b")), policy=policy)
    with pytest.raises(OSError, match="b"):
        await call()
    with pytest.raises(CircuitOpen):
        await call()
    with pytest.raises(ValueError, match="at least one provider"):
        with_fallback()


def test_retry_after_reads_seconds_and_dates_within_the_cap() -> None:
    from composable_agents.execution.resilience import retry_after

    assert retry_after("2.5", cap=10) == 2.5
    assert retry_after("-3", cap=10) == 0.0
    assert retry_after("999", cap=10) == 10
    assert retry_after("nan", cap=10) is None  # unreadable: the caller's own backoff applies
    assert retry_after("soon", cap=10) is None
    assert retry_after(None, cap=10) is None
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT", cap=60, now=1445412480.0 - 30) == 30.0
