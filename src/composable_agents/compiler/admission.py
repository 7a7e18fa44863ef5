"""Race admission (SPEC §7 step 4): only harmless work may be duplicated.

Every branch of a ``race``/``hedge``/``quorum`` (a ``par`` whose merge is not
``all``) may run and then be cancelled, or run beside a sibling doing the same
thing, so each tool it calls must be read-only or idempotent:

* ``RACE_UNASSERTED`` — an MCP tool whose contract was not asserted by a
  capability grant (its ``readOnlyHint``/``idempotentHint`` are untrusted, so
  it counts as ``write``/``none``);
* ``RACE_UNSAFE`` — any other non-read tool without ``native``/``required``
  idempotency (and the channel tools ``__emit__``/``__recv__``);
* ``RACE_SUB`` — a sub-flow: its effects sit behind the firewall and cannot be
  admitted from here.

An agent loop inside a race is checked through the tools it lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from composable_agents.compiler.capabilities import call_contract
from composable_agents.compiler.diagnostics import Diagnostic, diag
from composable_agents.core.ir import App, CallStep, Node, Par, Prim, SubStep
from composable_agents.core.kinds import Effect, Idempotency, Merge

if TYPE_CHECKING:
    from composable_agents.authoring.leaves import ToolDef
    from composable_agents.compiler.freeze import Frozen

__all__ = ["check_race_admission", "race_safe"]

_UNSAFE_RESERVED = frozenset({"__emit__", "__recv__"})


def race_safe(tool: ToolDef, node: Node, *, asserted: bool) -> str | None:
    """``None`` when ``tool`` may run in a race branch, else the blocking code."""
    effect, idem = call_contract(tool, node)
    if effect is Effect.READ or idem is not Idempotency.NONE:
        return None
    if tool.kind == "mcp" and not asserted:
        return "RACE_UNASSERTED"
    return "RACE_UNSAFE"


def check_race_admission(
    frozen: Frozen, *, nodes: Sequence[tuple[str, Node, str | None]] | None = None
) -> list[Diagnostic]:
    """Every race-admission diagnostic of ``frozen`` (its sub-flows included)."""
    from composable_agents.compiler.freeze import all_nodes

    items = nodes if nodes is not None else all_nodes(frozen)
    race_of: dict[str, tuple[str, Merge]] = {}
    out: list[Diagnostic] = []

    def tool_check(key: str, nid: str, node: Node, race: tuple[str, Merge], via: str = "") -> None:
        rid, merge = race
        if key in _UNSAFE_RESERVED:
            out.append(
                diag("RACE_UNSAFE", nid, f"channel tool {key!r} runs in a {merge} branch of {rid}", source=node.src)
            )
            return
        tool = frozen.tools.get(key)
        if tool is None:
            return
        code = race_safe(tool, node, asserted=key in frozen.asserted)
        if code == "RACE_UNASSERTED":
            out.append(
                diag(
                    code,
                    nid,
                    f"MCP tool {key!r}{via} in a {merge} branch of {rid} is not asserted; "
                    "its hints are untrusted, so it counts as write/none",
                    source=node.src,
                )
            )
        elif code == "RACE_UNSAFE":
            effect, idem = call_contract(tool, node)
            out.append(
                diag(
                    code,
                    nid,
                    f"tool {key!r}{via} ({effect}/{idem}) runs in a {merge} branch of {rid}; "
                    "a duplicated branch could repeat its effect",
                    source=node.src,
                )
            )

    for nid, node, parent in items:
        race = race_of.get(parent) if parent is not None else None
        if race is not None:
            race_of[nid] = race
            if isinstance(node, Prim):
                step = node.step
                if isinstance(step, CallStep):
                    tool_check(step.tool, nid, node, race)
                elif isinstance(step, SubStep):
                    out.append(
                        diag(
                            "RACE_SUB",
                            nid,
                            f"sub-flow {step.ref!r} runs in a {race[1]} branch of {race[0]}",
                            source=node.src,
                        )
                    )
            elif isinstance(node, App):
                for key in node.tools:
                    tool_check(key, nid, node, race, via=" (listed by an agent loop)")
        if isinstance(node, Par) and node.merge is not Merge.ALL:
            race_of[nid] = (nid, node.merge)
    return out
