"""Schemas offered to a model, and a controller's tool call mapped to the closed action vocabulary.

A controller (SPEC §10) is offered one provider tool per granted tool (its
contract's input schema), one per granted sub-flow, and ``finish`` and
``escalate``. :func:`offered_tools` builds them with provider-safe names and
a table back to what each name means; :func:`to_action` maps the model's one
tool call to ``{"action": ...}``. A name the table does not hold (a tool that
was never offered) becomes a ``call`` of that name, which the agent loop then
denies as ungranted — the model's reply never widens what the run may do.
Rejected alternative: asking the model for action JSON as text — native tool
calls are what providers train and validate for, and they carry schemas.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from composable_agents.core.canonical import Json, JsonObject
from composable_agents.integrations.models._wire import ToolSpec, ToolUse

__all__ = ["Offered", "object_schema", "offered_tools", "strict_form", "to_action"]

_UNSAFE: Final = re.compile(r"[^a-zA-Z0-9_-]")
_MAX_NAME: Final = 64

FINISH_SCHEMA: Final[JsonObject] = {
    "type": "object",
    "properties": {"value": {"description": "the run's final answer"}},
    "required": ["value"],
}
ESCALATE_SCHEMA: Final[JsonObject] = {
    "type": "object",
    "properties": {"reason": {"type": "string", "description": "why a human must take over"}},
    "required": ["reason"],
}


def object_schema(schema: Mapping[str, Any] | None, key: str) -> tuple[JsonObject, bool]:
    """``(schema, wrapped)``: an object schema as is, anything else wrapped as ``{key: schema}``.

    Providers take only object schemas for tool inputs and structured replies;
    a wrapped schema's ``$defs`` move to the wrapper so ``#/$defs/...`` refs
    still resolve.
    """
    inner: JsonObject = dict(schema or {})
    if inner.get("type") == "object" or (not inner.get("type") and "properties" in inner):
        inner.setdefault("type", "object")
        return inner, False
    defs = inner.pop("$defs", None)
    out: JsonObject = {"type": "object", "properties": {key: inner}, "required": [key]}
    if defs is not None:
        out["$defs"] = defs
    return out, True


def strict_form(schema: Json) -> Json | None:
    """``schema`` in the form OpenAI strict decoding accepts, or ``None`` when it has none.

    Strict mode needs every object closed with every property required. An
    object whose properties are all required but which does not say
    ``additionalProperties`` is closed here (a stricter schema: whatever the
    model produces still matches the original, which our validator checks);
    optional properties, open maps and ``{}`` (any value) have no strict form.
    """
    if isinstance(schema, bool) or schema is None:
        return None
    if isinstance(schema, list):
        items = [strict_form(s) for s in schema]
        return None if any(i is None for i in items) else items
    if not isinstance(schema, dict):
        return schema
    if not schema:
        return None
    out: JsonObject = {}
    if schema.get("type") == "object" or "properties" in schema:
        props = schema.get("properties")
        if not isinstance(props, dict) or schema.get("additionalProperties", False) is not False:
            return None
        required = schema.get("required") or []
        if not isinstance(required, list) or sorted(map(str, required)) != sorted(props):
            return None
        out["additionalProperties"] = False
    for name, sub in schema.items():
        if name in ("properties", "$defs") and isinstance(sub, dict):
            mapped = {k: strict_form(v) for k, v in sub.items()}
            if any(v is None for v in mapped.values()):
                return None
            out[name] = mapped
        elif name in ("items", "anyOf", "prefixItems"):
            mapped_sub = strict_form(sub)
            if mapped_sub is None:
                return None
            out[name] = mapped_sub
        elif name != "additionalProperties":
            out[name] = sub
    return out


def _safe(name: str, taken: set[str]) -> str:
    base = _UNSAFE.sub("_", name)[:_MAX_NAME] or "tool"
    out, n = base, 2
    while out in taken:
        suffix = f"_{n}"
        out, n = base[: _MAX_NAME - len(suffix)] + suffix, n + 1
    taken.add(out)
    return out


@dataclass(frozen=True, slots=True)
class Offered:
    """The tools offered to a controller and what each provider-side name stands for."""

    tools: tuple[ToolSpec, ...]
    meaning: Mapping[str, tuple[str, str, bool]]
    """provider name -> ``(kind, our name, wrapped)``; kind is ``finish``/``escalate``/``call``/``sub``."""


def offered_tools(offer: Mapping[str, Any]) -> Offered:
    """The provider tools for an ``offer`` (``{"tools": [...], "subflows": [...]}`` from the agent loop)."""
    taken = {"finish", "escalate"}
    specs = [
        ToolSpec("finish", "Finish the run with `value` as its answer.", FINISH_SCHEMA),
        ToolSpec("escalate", "Stop and hand the run to a human, saying why in `reason`.", ESCALATE_SCHEMA),
    ]
    meaning: dict[str, tuple[str, str, bool]] = {"finish": ("finish", "finish", False), "escalate": ("escalate", "escalate", False)}
    for kind, items, verb in (("call", offer.get("tools") or (), "Call tool"), ("sub", offer.get("subflows") or (), "Run sub-flow")):
        for item in items:
            ours = str(item["name"])
            provider_name = _safe(ours if kind == "call" else f"flow_{ours}", taken)
            schema, wrapped = object_schema(item.get("input"), "input")
            description = str(item.get("description") or f"{verb} {ours!r}.")
            specs.append(ToolSpec(provider_name, description, schema))
            meaning[provider_name] = (kind, ours, wrapped)
    return Offered(tuple(specs), meaning)


def to_action(use: ToolUse, offered: Offered) -> JsonObject:
    """The ``{"action": ...}`` record for the model's tool call ``use``."""
    args = use.input if isinstance(use.input, dict) else {"input": use.input}
    found = offered.meaning.get(use.name)
    if found is None:  # never offered: named as the model named it, so the loop denies it
        return {"action": "call", "tool": use.name, "input": args}
    kind, ours, wrapped = found
    if kind == "finish":
        return {"action": "finish", "value": args.get("value")}
    if kind == "escalate":
        reason = args.get("reason")
        return {"action": "escalate", "reason": reason if isinstance(reason, str) else str(reason or "")}
    value: Json = args.get("input") if wrapped else args
    if kind == "call":
        return {"action": "call", "tool": ours, "input": value}
    return {"action": "sub", "flow": ours, "input": value}
