"""Plan extraction: what an agent did, turned into a cheap, replayable staged plan.

:func:`generalize_trace_to_plan` (trace → IR JSON), :func:`extract_plan`
(generalize + check against a tool manifest) and :func:`promote_plan`
(enforce admission; return a runnable, stage-able plan). Admission is the
staged-plan compiler of :mod:`composable_agents.execution.staged`, so a
promoted plan is exactly what a planner may emit. Rejected alternative:
recording the agent's IR directly — a trace names tools and values, and the
generalization step is what makes the plan reusable on other inputs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from composable_agents.authoring.arrow import Arrow, wrap
from composable_agents.compiler.diagnostics import Diagnostic
from composable_agents.core.canonical import Json, JsonObject, canonical_dumps, copy_json
from composable_agents.core.ir import Node
from composable_agents.execution.agent_loop import CONST_PURE
from composable_agents.execution.staged import check_plan, compile_plan, plan_context

__all__ = [
    "ExtractedPlan",
    "PromotedPlan",
    "agent_trace",
    "extract_plan",
    "generalize_trace_to_plan",
    "promote_plan",
]


# -- plan extraction -------------------------------------------------------------


def agent_trace(result: Any) -> list[JsonObject]:
    """The trace of the (first) agent loop in a run's ``Result`` (projection or detail)."""
    detail = getattr(result, "detail", None)
    if isinstance(detail, Mapping) and isinstance(detail.get("trace"), list):
        return list(detail["trace"])
    projection = getattr(result, "projection", None)
    if projection is not None:
        for event in projection.events:
            if event.get("op") == "app" and isinstance(event.get("trace"), list):
                return list(event["trace"])
    return []


def _entries(trace: Iterable[Mapping[str, Json]]) -> list[Mapping[str, Json]]:
    kept = []
    for entry in trace:
        checked: object = entry
        if not isinstance(checked, Mapping) or entry.get("status") != "ok":
            continue
        action = entry.get("action")
        if isinstance(action, Mapping) and action.get("action") in ("call", "sub"):
            kept.append(entry)
    return kept


_MISSING: Final = object()


def _adapter(wanted: Json, prev: Any) -> JsonObject | None:
    """An IR node turning ``prev`` into ``wanted`` (``None`` when they are equal)."""
    if prev is not _MISSING and canonical_dumps(wanted) == canonical_dumps(prev):
        return None
    if type(wanted) is dict and wanted:
        fields: JsonObject = {}
        for name, item in wanted.items():
            if prev is not _MISSING and canonical_dumps(item) == canonical_dumps(prev):
                fields[name] = {"input": True}
                continue
            source = None
            if prev is not _MISSING and type(prev) is dict:
                for key, val in prev.items():
                    if canonical_dumps(val) == canonical_dumps(item):
                        source = key
                        break
            fields[name] = {"field": source} if source is not None else {"const": item}
        return {"op": "arr", "pure": "std.pack", "args": {"fields": fields}}
    return {"op": "arr", "pure": CONST_PURE, "args": {"const": wanted}}


def generalize_trace_to_plan(
    trace: Iterable[Mapping[str, Json]],
    *,
    run_input: Json = None,
    final: Any = _MISSING,
    has_input: bool = True,
) -> JsonObject:
    """IR JSON (no ids) that replays the successful calls of an agent ``trace``.

    Each step receives the previous step's output (the run input first). Where
    the agent passed something else, an adapter is inserted: ``std.pack``
    picking fields of the previous value (or constants) for a record, or a
    constant. Denied and failed rounds are dropped. ``final`` (the run's
    finish value), when given, is reproduced the same way.
    """
    steps: list[JsonObject] = []
    prev: Any = copy_json(run_input) if has_input else _MISSING
    for entry in _entries(trace):
        action = entry["action"]
        assert isinstance(action, Mapping)
        wanted = copy_json(action.get("input"))
        adapter = _adapter(wanted, prev)
        if adapter is not None:
            steps.append(adapter)
        if action.get("action") == "call":
            steps.append({"op": "prim", "step": {"kind": "call", "tool": str(action["tool"])}})
        else:
            steps.append(
                {"op": "prim", "step": {"kind": "sub", "ref": str(action["flow"]), "contract": {"shape": "Pipeline"}}}
            )
        prev = copy_json(entry.get("observation"))
    if final is not _MISSING:
        adapter = _adapter(copy_json(final), prev)
        if adapter is not None:
            steps.append(adapter)
    if not steps:
        return {"op": "ident"}
    if len(steps) == 1:
        return steps[0]
    return {"op": "seq", "steps": steps}


@dataclass(frozen=True, slots=True)
class ExtractedPlan:
    """A candidate plan and its check: ``admitted`` iff ``diagnostics`` has no blocking finding."""

    plan: JsonObject
    node: Node | None
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def admitted(self) -> bool:
        """True when the plan compiled with no blocking diagnostic."""
        return self.node is not None and not any(d.blocking for d in self.diagnostics)


def extract_plan(
    trace: Iterable[Mapping[str, Json]] | Any,
    manifest: Any,
    *,
    run_input: Json = None,
    final: Any = _MISSING,
    budget_usd: float | None = None,
) -> ExtractedPlan:
    """Generalize ``trace`` (or a ``Result``'s agent trace) and check it against ``manifest``.

    ``manifest`` is what the plan may bind to: a ``Deployment``, a
    ``Catalog``, an ``Agent``, a ``{key: ToolDef}`` mapping or ``@tool``
    functions (see :func:`composable_agents.execution.staged.plan_context`). Never
    raises on a bad plan: the diagnostics say why it is not admitted.
    """
    if hasattr(trace, "projection"):
        result = trace
        trace = agent_trace(result)
        if final is _MISSING and getattr(result, "status", None) == "ok":
            final = getattr(result, "raw_value", None)
    plan = generalize_trace_to_plan(trace, run_input=run_input, final=final)
    ctx = plan_context(manifest, budget_usd=budget_usd)
    node, diags = check_plan(plan, ctx)
    return ExtractedPlan(plan, node, tuple(diags))


@dataclass(frozen=True, slots=True)
class PromotedPlan:
    """An admitted plan: run it as an arrow, or replay it through ``stage`` with :meth:`planner`."""

    plan: JsonObject
    node: Node
    name: str | None = None
    diagnostics: tuple[Diagnostic, ...] = field(default=())

    @property
    def arrow(self) -> Arrow[Any, Any]:
        """The plan as an arrow (named when promoted with ``name=``)."""
        out = wrap(self.node)
        return out.named(self.name) if self.name else out

    def planner(self) -> Any:
        """A fake planner that always answers this plan (for ``stage`` replays)."""
        plan = copy_json(self.plan)

        def planner(value: Json) -> Json:
            del value
            return copy_json(plan)

        return planner


def promote_plan(
    plan: ExtractedPlan | Mapping[str, Json] | str,
    manifest: Any,
    *,
    name: str | None = None,
    budget_usd: float | None = None,
) -> PromotedPlan:
    """Admit ``plan`` against ``manifest`` or raise :class:`~composable_agents.errors.StagedPlanRejected`.

    Admission is the same compilation ``stage`` runs (bind, validate, shape,
    budget, race admission), so a promoted plan is exactly what a planner may
    emit.
    """
    doc = plan.plan if isinstance(plan, ExtractedPlan) else plan
    ctx = plan_context(manifest, budget_usd=budget_usd)
    node = compile_plan(doc, ctx)
    wire = copy_json(doc) if not isinstance(doc, str) else json.loads(doc)
    return PromotedPlan(plan=wire, node=node, name=name)
