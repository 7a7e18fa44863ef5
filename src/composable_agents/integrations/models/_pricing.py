"""Cost of a call from the ``genai-prices`` table (bundled data, no network).

:func:`price` returns USD, or ``None`` when the table does not know the model
(the router then charges 0 and marks the event ``costUnknown``). Models the
table does not know are remembered, so an unknown model costs one lookup per
process. Rejected alternative: our own price table — it would go stale the
day a provider changes prices; ``genai-prices`` is maintained for exactly this.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from composable_agents.integrations.models._wire import Usage

__all__ = ["price"]

_UNKNOWN: set[tuple[str, str]] = set()
_RATES: dict[tuple[str, str], tuple[float, float, float, float] | None] = {}
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


def _flat_rates(table: Any, provider: str, model: str) -> tuple[float, float, float, float] | None:
    """USD per million ``(input, output, cache read, cache write)`` tokens when the model's prices are flat.

    Raises ``LookupError`` for a model the table does not know; ``None`` when
    a price is tiered (by context length) or per request, which only the
    table's own calculation gets right.
    """
    probe = table.calc_price(table.Usage(input_tokens=1, output_tokens=1), model, provider_id=provider)
    mp = probe.model_price
    if getattr(mp, "requests_kcount", None):
        return None
    rates: list[float | None] = []
    for name in ("input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok"):
        value = getattr(mp, name, None)
        if value is not None and not isinstance(value, Decimal | int | float):
            return None
        rates.append(None if value is None else float(value))
    base = rates[0] or 0.0
    # The table charges cache tokens at the input price when it lists no cache price.
    return (base, rates[1] or 0.0, base if rates[2] is None else rates[2], base if rates[3] is None else rates[3])


def price(provider: str, model: str, usage: Usage) -> float | None:
    """USD for ``usage`` on ``provider``'s ``model``, or ``None`` when unknown.

    Flat-priced models are computed from their per-token rates (looked up
    once per process: the table's own calculation costs ~100 µs a call);
    tiered ones go through the table every time.
    """
    key = (provider, model)
    if key in _UNKNOWN:
        return None
    table = _table()
    if table is None:
        return None
    try:
        if key not in _RATES:
            _RATES[key] = _flat_rates(table, provider, model)
        rates = _RATES[key]
        if rates is not None:
            plain = usage.input_tokens - usage.cache_read_tokens - usage.cache_write_tokens
            total = (
                plain * rates[0]
                + usage.output_tokens * rates[1]
                + usage.cache_read_tokens * rates[2]
                + usage.cache_write_tokens * rates[3]
            )
            return total / 1_000_000
        counts = table.Usage(
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_read_tokens=usage.cache_read_tokens,
            cache_write_tokens=usage.cache_write_tokens,
        )
        return float(table.calc_price(counts, model, provider_id=provider).total_price)
    except LookupError:
        _UNKNOWN.add(key)
        return None
