"""Freeze: bind every call to a frozen tool definition and pin every pure.

Freezing turns an authored tree into the artifact's flow: the normal form,
with each ``call`` step carrying its **execution hash** (``bind``), and a
manifest recording, per tool, the definition (contract, body hash, server
version), the definition hash and the execution hash; per reasoner, its
definition; per pure, its source hash; and the frozen closure of named
sub-flows. Worker endpoints are configuration, never part of identity.

The execution hash covers the definition hash, the contract, whether the
contract was asserted by a capability grant, and the retry class — exactly
what changes the meaning of a call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from composable_agents.core.canonical import JsonObject, content_hash
from composable_agents.core.codec import normalize, walk
from composable_agents.core.ir import (
    RESERVED_TOOLS,
    Alt,
    App,
    Arr,
    CallStep,
    Each,
    EvalPlan,
    IterUpTo,
    Node,
    Par,
    Prim,
    SubStep,
    ThinkStep,
)
from composable_agents.core.pures import DEFAULT_REGISTRY, Registry
from composable_agents.errors import FreezeError

if TYPE_CHECKING:
    from composable_agents.authoring.leaves import Reasoner, ToolContract, ToolDef
    from composable_agents.compiler.capabilities import CapabilityManifest

__all__ = ["Frozen", "all_nodes", "execution_hash", "freeze", "pure_names", "retry_class", "snapshot_from_listings"]


def retry_class(tool: ToolDef) -> str:
    """``read`` (free retries), ``idempotent`` (keyed retries) or ``once``."""
    contract = tool.contract
    if contract.effect == "read":
        return "read"
    if contract.idempotency != "none":
        return "idempotent"
    return "once"


def execution_hash(tool: ToolDef, *, asserted: bool = False) -> str:
    """``sha256:`` over the definition hash, contract, asserted flag and retry class."""
    return content_hash(
        {
            "definition": tool.definition_hash(),
            "contract": tool.contract.to_json(),
            "asserted": asserted,
            "retry": retry_class(tool),
        }
    )


def pure_names(node: Node) -> list[str]:
    """Every pure a (normalized) tree references, in first-use order."""
    seen: dict[str, None] = {}
    for _nid, current, _parent in walk(node):
        if isinstance(current, Arr):
            seen.setdefault(current.pure, None)
        refs = []
        if isinstance(current, Par | Each) and current.reducer is not None:
            refs.append(current.reducer)
        if isinstance(current, Alt):
            refs.extend(r for r in (current.pred, current.selector) if r is not None)
        if isinstance(current, IterUpTo) and current.until is not None:
            refs.append(current.until)
        for ref in refs:
            seen.setdefault(ref.name, None)
    return list(seen)


def _pure_uses(node: Node, root_id: str) -> list[tuple[str, str]]:
    """``(node_id, pure_name)`` for every pure reference, in pre-order."""
    out: list[tuple[str, str]] = []
    for nid, current, _parent in walk(node, root_id=root_id):
        if isinstance(current, Arr):
            out.append((nid, current.pure))
        if isinstance(current, Par | Each) and current.reducer is not None:
            out.append((nid, current.reducer.name))
        if isinstance(current, Alt):
            out.extend((nid, r.name) for r in (current.pred, current.selector) if r is not None)
        if isinstance(current, IterUpTo) and current.until is not None:
            out.append((nid, current.until.name))
    return out


@dataclass(frozen=True, slots=True)
class Frozen:
    """A frozen flow and everything it reaches."""

    node: Node
    tools: Mapping[str, ToolDef]
    execution_hashes: Mapping[str, str]
    reasoners: Mapping[str, Reasoner[Any, Any]]
    pures: Mapping[str, str]
    subflows: Mapping[str, Node] = field(default_factory=dict)
    unresolved_tools: tuple[tuple[str, str], ...] = ()
    unresolved_reasoners: tuple[tuple[str, str], ...] = ()
    unknown_pures: tuple[tuple[str, str], ...] = ()
    unresolved_subflows: tuple[tuple[str, str], ...] = ()
    asserted: frozenset[str] = frozenset()
    declared: Mapping[str, ToolContract] = field(default_factory=dict)
    """Contracts as declared, for tools whose contract a capability grant changed."""

    def manifest_json(self) -> JsonObject:
        """The frozen manifest: tools, reasoners, pure pins and sub-flows."""
        tools: JsonObject = {}
        for key in sorted(self.tools):
            tool = self.tools[key]
            entry: JsonObject = {
                "definition": tool.definition_json(),
                "definitionHash": tool.definition_hash(),
                "executionHash": self.execution_hashes[key],
            }
            if key in self.asserted:
                entry["asserted"] = True
            tools[key] = entry
        return {
            "tools": tools,
            "reasoners": {name: self.reasoners[name].definition_json() for name in sorted(self.reasoners)},
            "pures": {name: self.pures[name] for name in sorted(self.pures)},
            "subflows": {ref: self.subflows[ref].to_json() for ref in sorted(self.subflows)},
        }


def _bind(node: Node, hashes: Mapping[str, str]) -> Node:
    """A copy of the normal form with each call's ``bind`` set (iterative rebuild)."""
    from composable_agents.core.codec import _rebuild

    memo: dict[int, Node] = {}
    stack: list[tuple[Node, bool]] = [(node, False)]
    while stack:
        current, expanded = stack.pop()
        key = id(current)
        if key in memo:
            continue
        kids = current.children()
        if not expanded and kids:
            stack.append((current, True))
            stack.extend((k, False) for k in kids if id(k) not in memo)
            continue
        if isinstance(current, Prim) and isinstance(current.step, CallStep):
            step = current.step
            bound = hashes.get(step.tool)
            if bound is not None and bound != step.bind:
                import dataclasses

                memo[key] = dataclasses.replace(current, step=CallStep(step.tool, bound, step.args))
                continue
            memo[key] = current
            continue
        memo[key] = _rebuild(current, [memo[id(k)] for k in kids]) if kids else current
    return normalize(memo[id(node)])


def freeze(
    flow: Node | Any,
    *,
    tools: Iterable[ToolDef] | Any | None = None,
    reasoners: Iterable[Reasoner[Any, Any]] | None = None,
    registry: Registry | None = None,
    asserted: Iterable[str] = (),
    capabilities: CapabilityManifest | Any | None = None,
) -> Frozen:
    """Freeze ``flow`` against the given tools/reasoners (or the registry's when ``None``).

    ``tools`` may be tool definitions, ``@tool`` arrows or a snapshot from
    :func:`snapshot_from_listings`. A capability grant that asserts ``effect``
    / ``idempotency`` (or requires ``approval``) replaces the tool's frozen
    contract, and an assertion sets the execution hash's asserted flag.
    Unresolvable calls, reasoners and pures are recorded (as ``(node_id,
    name)`` pairs) for validation to report; cycles of named sub-flows and
    duplicate tool keys raise :class:`FreezeError`.
    """
    from composable_agents.compiler.capabilities import apply_grant, as_manifest

    if not isinstance(flow, Node):
        from composable_agents.authoring.arrow import as_node

        flow = as_node(flow, what="freeze(flow)")
    if tools is not None:
        if hasattr(tools, "tools") and callable(tools.tools):
            tools = tools.tools()
        tools = [t if _is_tooldef(t) else getattr(t, "definition") for t in tools]  # noqa: B009
    manifest = as_manifest(capabilities)
    reg = registry or DEFAULT_REGISTRY
    if tools is None:
        tool_map: dict[str, ToolDef] = dict(reg.tools)
    else:
        tool_map = {}
        for tool in tools:
            previous = tool_map.get(tool.key)
            if previous is not None and previous is not tool:
                msg = f"two tools have the key {tool.key!r}; give one a different name= "
                raise FreezeError(msg)
            tool_map[tool.key] = tool
    if reasoners is None:
        reasoner_map: dict[str, Reasoner[Any, Any]] = dict(reg.reasoners)
    else:
        reasoner_map = {}
        for r in reasoners:
            reasoner_map[r.name] = r
    asserted_keys = set(asserted)

    used_tools: dict[str, ToolDef] = {}
    used_reasoners: dict[str, Reasoner[Any, Any]] = {}
    pins: dict[str, str] = {}
    subflows: dict[str, Node] = {}
    missing_tools: list[tuple[str, str]] = []
    missing_reasoners: list[tuple[str, str]] = []
    missing_pures: list[tuple[str, str]] = []
    missing_subs: list[tuple[str, str]] = []
    staged: list[str] = []

    def scan(root: Node, prefix: str) -> list[tuple[str, str]]:
        subs: list[tuple[str, str]] = []
        pure_uses: list[tuple[str, str]] = []
        for nid, current, _parent in walk(root, root_id=prefix):
            if isinstance(current, Arr):
                pure_uses.append((nid, current.pure))
                continue
            if isinstance(current, Par | Each):
                if current.reducer is not None:
                    pure_uses.append((nid, current.reducer.name))
                continue
            if isinstance(current, Alt):
                pure_uses.extend((nid, r.name) for r in (current.pred, current.selector) if r is not None)
                continue
            if isinstance(current, IterUpTo):
                if current.until is not None:
                    pure_uses.append((nid, current.until.name))
                continue
            if isinstance(current, Prim):
                step = current.step
                if isinstance(step, CallStep):
                    if step.tool in RESERVED_TOOLS:
                        continue
                    found = tool_map.get(step.tool)
                    if found is None:
                        missing_tools.append((nid, step.tool))
                    else:
                        used_tools[step.tool] = found
                elif isinstance(step, ThinkStep):
                    r = reasoner_map.get(step.reasoner)
                    if r is None:
                        missing_reasoners.append((nid, step.reasoner))
                    else:
                        used_reasoners[step.reasoner] = r
                elif isinstance(step, SubStep):
                    subs.append((nid, step.ref))
            elif isinstance(current, EvalPlan):
                staged.append(nid)
                r = reasoner_map.get(current.planner)
                if r is None:
                    missing_reasoners.append((nid, current.planner))
                else:
                    used_reasoners[r.name] = r
            elif isinstance(current, App):
                r = reasoner_map.get(current.controller)
                if r is None:
                    missing_reasoners.append((nid, current.controller))
                else:
                    used_reasoners[r.name] = r
                for key in current.tools:
                    found = tool_map.get(key)
                    if found is None:
                        missing_tools.append((nid, key))
                    else:
                        used_tools[key] = found
                subs.extend((nid, ref) for ref in current.subflows)
        for nid, name in pure_uses:
            if name in pins:
                continue
            if reg.has_pure(name):
                pins[name] = reg.pure(name).source_hash
            else:
                missing_pures.append((nid, name))
        return subs

    root = normalize(flow)
    pending: list[tuple[str, str, tuple[str, ...]]] = [(nid, ref, (ref,)) for nid, ref in scan(root, "$")]
    while pending:
        nid, ref, path = pending.pop()
        if ref in subflows:
            continue
        child = reg.flows.get(ref)
        if child is None:
            missing_subs.append((nid, ref))
            continue
        child_node = normalize(child.to_ir())
        subflows[ref] = child_node
        for inner_nid, inner in scan(child_node, f"sub:{ref}"):
            if inner in path:
                msg = f"named sub-flows form a cycle: {' -> '.join((*path, inner))}"
                raise FreezeError(msg)
            pending.append((inner_nid, inner, (*path, inner)))

    if staged and tools is not None:
        # A planner may bind only to frozen tools (SPEC §10): with an explicit
        # tool list (or snapshot), every listed tool the capabilities allow is
        # frozen, so a flow that is just ``stage(...)`` still has tools to plan
        # with. The registry fallback is never widened this way.
        for key, tool in tool_map.items():
            if manifest is None or manifest.allows_tool(key):
                used_tools.setdefault(key, tool)

    declared: dict[str, ToolContract] = {}
    if manifest is not None and manifest.tools is not None:
        for key, tool in list(used_tools.items()):
            new, was_asserted = apply_grant(tool, manifest.grant(key))
            if new is not tool:
                declared[key] = tool.contract
                used_tools[key] = new
            if was_asserted:
                asserted_keys.add(key)
    asserted_keys &= set(used_tools)
    hashes = {key: execution_hash(tool, asserted=key in asserted_keys) for key, tool in used_tools.items()}
    bound_root = _bind(root, hashes)
    bound_subs = {ref: _bind(node, hashes) for ref, node in subflows.items()}
    return Frozen(
        node=bound_root,
        tools=used_tools,
        execution_hashes=hashes,
        reasoners=used_reasoners,
        pures=pins,
        subflows=bound_subs,
        unresolved_tools=tuple(missing_tools),
        unresolved_reasoners=tuple(missing_reasoners),
        unknown_pures=tuple(missing_pures),
        unresolved_subflows=tuple(missing_subs),
        asserted=frozenset(asserted_keys),
        declared=declared,
    )


def _is_tooldef(value: object) -> bool:
    from composable_agents.authoring.leaves import ToolDef

    return isinstance(value, ToolDef)


def all_nodes(frozen: Frozen) -> list[tuple[str, Node, str | None]]:
    """Every node of the frozen flow and of its frozen sub-flows, as ``(id, node, parent_id)``.

    Pre-order (parents before children). Sub-flow nodes have ids
    ``sub:<ref>``, ``sub:<ref>.0``, ...
    """
    out = walk(frozen.node)
    for ref in sorted(frozen.subflows):
        out.extend(walk(frozen.subflows[ref], root_id=f"sub:{ref}"))
    return out


def snapshot_from_listings(*args: Any, **kwargs: Any) -> Any:
    """See :func:`composable_agents.compiler.snapshot.snapshot_from_listings`."""
    from composable_agents.compiler.snapshot import snapshot_from_listings as impl

    return impl(*args, **kwargs)
