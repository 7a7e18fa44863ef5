"""Cost of a call from the ``genai-prices`` table (bundled data, no network).

:func:`price` returns USD, or ``None`` when the table does not know the model
(the router then charges 0 and marks the event ``costUnknown``). Models the
table does not know are remembered, so an unknown model costs one lookup per
process. Rejected alternative: our own price table — it would go stale the
day a provider changes prices; ``genai-prices`` is maintained for exactly this.
"""

from __future__ import annotations

from typing import Any

from composable_agents.integrations.models._wire import Usage

__all__ = ["price"]

_UNKNOWN: set[tuple[str, str]] = set()
_MISSING_TABLE: list[bool] = []


def _table() -> Any:
    if _MISSING_TABLE:
        return None
    try:
        import genai_prices
    except ImportError:  # the extras install it; without it every cost is unknown
        _MISSING_TABLE.append(True)
        return None
    return genai_prices


def price(provider: str, model: str, usage: Usage) -> float | None:
    """USD for ``usage`` on ``provider``'s ``model``, or ``None`` when unknown."""
    key = (provider, model)
    if key in _UNKNOWN:
        return None
    table = _table()
    if table is None:
        return None
    counts = table.Usage(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
    )
    try:
        calc = table.calc_price(counts, model, provider_id=provider)
    except LookupError:
        _UNKNOWN.add(key)
        return None
    return float(calc.total_price)
