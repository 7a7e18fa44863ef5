"""The pass runner: every check ``deploy`` runs after freezing, in order.

1. validate (:mod:`.validate`): resolution, well-formedness, retries, schema
   edges, secret-shaped args, ``WHOLE_SESSION`` inside ``par``;
2. capabilities (:mod:`.capabilities`): deny-by-default grants;
3. race admission (:mod:`.admission`);
4. approval dominance (:mod:`.approval`);
5. budget (:mod:`.budget`).

``run_all`` returns every diagnostic of every pass (never first-only);
``capabilities_json`` normalizes the capability manifest into the JSON that
the artifact hash covers.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from composable_agents.compiler.admission import check_race_admission
from composable_agents.compiler.approval import check_approval
from composable_agents.compiler.budget import check_budget
from composable_agents.compiler.capabilities import (
    CapabilityManifest,
    as_manifest,
    check_capabilities,
)
from composable_agents.compiler.diagnostics import Diagnostic
from composable_agents.compiler.freeze import Frozen, all_nodes
from composable_agents.compiler.validate import validate
from composable_agents.core.canonical import JsonObject
from composable_agents.core.pures import Registry

__all__ = ["admission", "capabilities_json", "run_all"]


def admission(frozen: Frozen, *, capabilities: Any = None) -> list[Diagnostic]:
    """The policy gates only (capabilities, race admission, approval, budget)."""
    manifest = as_manifest(capabilities)
    nodes = all_nodes(frozen)
    out = check_capabilities(frozen, manifest, nodes=nodes)
    out.extend(check_race_admission(frozen, nodes=nodes))
    out.extend(check_approval(frozen))
    out.extend(check_budget(frozen, manifest))
    return out


def run_all(frozen: Frozen, *, capabilities: Any = None, registry: Registry | None = None) -> list[Diagnostic]:
    """Every diagnostic of every pass over ``frozen``, in pass order then node order."""
    manifest = as_manifest(capabilities)
    nodes = all_nodes(frozen)
    out = validate(frozen, registry=registry, nodes=nodes)
    out.extend(check_capabilities(frozen, manifest, nodes=nodes))
    out.extend(check_race_admission(frozen, nodes=nodes))
    out.extend(check_approval(frozen))
    out.extend(check_budget(frozen, manifest))
    return _with_sources(out, nodes)


def _with_sources(diags: list[Diagnostic], nodes: list[tuple[str, Any, str | None]]) -> list[Diagnostic]:
    """Give each diagnostic without a source the nearest enclosing node's captured source."""
    if not diags or all(d.source is not None for d in diags):
        return diags
    srcs = {nid: node.src for nid, node, _parent in nodes if node.src is not None}
    if not srcs:
        return diags
    out = []
    for d in diags:
        if d.source is None:
            nid = d.node_id
            while nid not in srcs and "." in nid:
                nid = nid.rsplit(".", 1)[0]
            if nid in srcs:
                d = dataclasses.replace(d, source=srcs[nid])
        out.append(d)
    return out


def capabilities_json(capabilities: Any) -> JsonObject | None:
    """The capability manifest as canonical-ready JSON (``None`` when absent)."""
    manifest = as_manifest(capabilities)
    if manifest is None:
        return None
    assert isinstance(manifest, CapabilityManifest)
    return manifest.to_json()
