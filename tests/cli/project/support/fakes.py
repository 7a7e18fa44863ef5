"""Fake reasoners for `ca run --fake` and `ca dev --fake`."""

from __future__ import annotations

from typing import Any


def support_reply(value: dict[str, str]) -> dict[str, str]:
    """A deterministic reply built from the prompt record."""
    return {"reply": f"{value['queue']}: {value['context']}"}


def controller(value: dict[str, Any]) -> dict[str, Any]:
    """Finish at once with the run's input."""
    return {"action": "finish", "value": {"answer": value["input"]}}
