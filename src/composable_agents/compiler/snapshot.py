"""Tool snapshots: MCP listings frozen into tool definitions.

``snapshot_from_listings({server: {tool: listing}}, versions={server: "1.2.0"})``
turns MCP ``tools/list`` entries (``inputSchema``, ``outputSchema``,
``annotations``) into :class:`McpToolDef` values keyed ``server/tool``.

MCP annotations (``readOnlyHint``, ``idempotentHint``, ``destructiveHint``)
are **untrusted**: they are recorded in the definition (so a changed listing
changes the definition hash) but never decide the contract. An unasserted MCP
tool is ``write`` / ``none``; only a capability grant may assert its effect
and idempotency (see :mod:`composable_agents.compiler.capabilities`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from composable_agents.authoring.leaves import ToolContract, ToolDef
from composable_agents.core.canonical import JsonObject, content_hash, copy_json
from composable_agents.core.kinds import Effect, Idempotency
from composable_agents.errors import FreezeError

__all__ = ["McpToolDef", "Snapshot", "snapshot_from_listings"]

_LISTING_KEYS = frozenset({"inputSchema", "outputSchema", "annotations", "description", "title", "name"})


@dataclass(frozen=True, slots=True, eq=False)
class McpToolDef(ToolDef):
    """An MCP tool definition: a :class:`ToolDef` that also records the listing's hints."""

    annotations: JsonObject = field(default_factory=dict)
    description: str = ""

    def definition_json(self) -> JsonObject:
        """The native definition plus the (untrusted) annotations and description."""
        out = ToolDef.definition_json(self)
        if self.annotations:
            out["annotations"] = self.annotations
        if self.description:
            out["description"] = self.description
        return out


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A set of frozen tool definitions (what ``deploy(flow, snapshot)`` says exists)."""

    defs: tuple[ToolDef, ...]

    def tools(self) -> list[ToolDef]:
        """The tool definitions, in listing order."""
        return list(self.defs)

    def __iter__(self) -> Iterator[ToolDef]:
        return iter(self.defs)

    def __len__(self) -> int:
        return len(self.defs)

    def __getitem__(self, key: str) -> ToolDef:
        for d in self.defs:
            if d.key == key:
                return d
        raise KeyError(key)

    def keys(self) -> list[str]:
        """The tool keys."""
        return [d.key for d in self.defs]

    def to_json(self) -> JsonObject:
        """``{key: definition}`` for every tool (sorted by key)."""
        return {d.key: d.definition_json() for d in sorted(self.defs, key=lambda d: d.key)}

    def digest(self) -> str:
        """``sha256:`` over :meth:`to_json`."""
        return content_hash(self.to_json())

    def __add__(self, other: Snapshot) -> Snapshot:
        return Snapshot(self.defs + other.defs)


def _schema(value: Any, where: str) -> JsonObject:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        msg = f"{where} must be a JSON Schema object, got {type(value).__name__}"
        raise FreezeError(msg)
    return dict(copy_json(dict(value)))  # type: ignore[arg-type,unused-ignore]


def _name(value: object, what: str) -> str:
    if not isinstance(value, str) or not value or "/" in value:
        msg = f"{what} must be a non-empty name without '/', got {value!r}"
        raise FreezeError(msg)
    return value


def snapshot_from_listings(
    listings: Mapping[str, Any],
    *,
    versions: Mapping[str, str] | None = None,
) -> Snapshot:
    """Freeze MCP listings ``{server: {tool: {"inputSchema": ..., ...}}}`` into a :class:`Snapshot`.

    ``versions`` gives each server's version (checked against the capability
    manifest's ``mcp_servers`` pins). A listing may be a mapping or a list of
    ``{"name": tool, ...}`` entries (the ``tools/list`` reply's shape).
    """
    if not isinstance(cast(object, listings), Mapping):
        msg = f"listings must be a mapping {{server: {{tool: listing}}}}, got {type(listings).__name__}"
        raise FreezeError(msg)
    vers = dict(versions or {})
    for server, version in vers.items():
        if not isinstance(cast(object, version), str) or not version:
            msg = f"versions[{server!r}] must be a non-empty version string, got {version!r}"
            raise FreezeError(msg)
    defs: list[ToolDef] = []
    for server, tools in listings.items():
        _name(server, "an MCP server name")
        entries: list[tuple[str, Any]]
        if isinstance(tools, Mapping):
            entries = [(str(k), v) for k, v in tools.items()]
        elif isinstance(tools, list | tuple):
            entries = []
            for item in tools:
                if not isinstance(item, Mapping) or "name" not in item:
                    msg = f"listing of server {server!r}: every entry needs a 'name', got {item!r}"
                    raise FreezeError(msg)
                entries.append((str(item["name"]), item))
        else:
            msg = f"listing of server {server!r} must be a mapping or a list, got {type(tools).__name__}"
            raise FreezeError(msg)
        for tool_name, listing in entries:
            _name(tool_name, f"a tool name on server {server!r}")
            if not isinstance(listing, Mapping):
                msg = f"listing of {server}/{tool_name} must be a mapping, got {type(listing).__name__}"
                raise FreezeError(msg)
            unknown = sorted(set(listing) - _LISTING_KEYS)
            if unknown:
                msg = f"listing of {server}/{tool_name} has unknown keys: {', '.join(unknown)}"
                raise FreezeError(msg)
            hints = listing.get("annotations") or {}
            if not isinstance(hints, Mapping):
                msg = f"annotations of {server}/{tool_name} must be a mapping"
                raise FreezeError(msg)
            description = listing.get("description") or ""
            contract = ToolContract(
                effect=Effect.WRITE,  # hints are untrusted: unasserted MCP tools are write/none
                idempotency=Idempotency.NONE,
                input_schema=_schema(listing.get("inputSchema"), f"{server}/{tool_name}.inputSchema"),
                output_schema=_schema(listing.get("outputSchema"), f"{server}/{tool_name}.outputSchema"),
            )
            defs.append(
                McpToolDef(
                    key=f"{server}/{tool_name}",
                    contract=contract,
                    kind="mcp",
                    server=server,
                    server_version=vers.get(server),
                    annotations=dict(copy_json(dict(hints))),  # type: ignore[arg-type,unused-ignore]
                    description=str(description),
                )
            )
    return Snapshot(tuple(defs))
