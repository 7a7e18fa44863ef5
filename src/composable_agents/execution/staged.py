"""Staged plans: compile a planner's reply (IR JSON) into an admitted, bound node.

``stage(planner=...)`` lets a reasoner choose structure at run time without
widening authority. The reply is compiled here, deterministically and with no
IO (on Temporal this runs inside the workflow):

1. **parse** — ``Node.from_json`` (ids optional); ``{"plan": <node>}`` and a
   JSON text are accepted too (``PLAN_PARSE``);
2. **shape** — no ``each`` (``PLAN_EACH``), ``stage`` (``PLAN_STAGE``),
   ``app`` (``PLAN_APP``) or ``loop`` (``PLAN_LOOP``), session channels
   (``PLAN_RESERVED``), and the closed shape is at most Feedback
   (``PLAN_SHAPE``);
3. **bind** — every call binds to a tool **already frozen in the parent
   manifest**: by exact key, else by the tool name after ``server/``. Zero
   matches is ``PLAN_UNKNOWN_TOOL`` (an invented tool); several is
   ``PLAN_AMBIGUOUS_TOOL`` unless the call pins one with ``"bind":
   <execution or definition hash>`` (a pin matching none is
   ``PLAN_BIND_MISMATCH``). A bound call carries the tool's execution hash, so
   it inherits the tool's real contract (retries, effects, approval);
4. **validate** — reasoners, sub-flows and pures must exist in the parent
   (``PLAN_UNKNOWN_REASONER``, ``PLAN_UNKNOWN_SUBFLOW``, ``PLAN_UNKNOWN_PURE``);
   explicit retries on a non-idempotent tool are ``RETRY_UNSAFE``;
5. **budget** — the static cost estimate must fit the stage's budget
   (``PLAN_BUDGET``);
6. **admission** — race/hedge/quorum branches only read-only or idempotent
   tools (``RACE_UNSAFE``) and no subs (``RACE_SUB``); an approval-required
   tool must follow a ``human_gate`` (``APPROVAL_UNGATED``).

All findings are collected; :func:`compile_plan` raises
:class:`~composable_agents.errors.StagedPlanRejected` holding every one.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from composable_agents.compiler.admission import race_safe
from composable_agents.compiler.budget import DEFAULT_LEAF_COST_USD
from composable_agents.compiler.capabilities import needs_approval
from composable_agents.compiler.diagnostics import Diagnostic
from composable_agents.compiler.validate import _malformed, _retry_range
from composable_agents.core.canonical import JsonObject
from composable_agents.core.codec import MAX_DOCUMENT_BYTES, MAX_NODE_DEPTH, normalize
from composable_agents.core.ir import (
    RESERVED_TOOLS,
    Alt,
    App,
    Arr,
    CallStep,
    Each,
    EvalPlan,
    IterUpTo,
    Loop,
    Node,
    Par,
    Prim,
    Seq,
    SubStep,
    ThinkStep,
)
from composable_agents.core.jsontext import has_lone_surrogate, loads_strict
from composable_agents.core.kinds import Merge, Shape
from composable_agents.core.pures import DEFAULT_REGISTRY, Registry
from composable_agents.core.shapes import closed_shape
from composable_agents.errors import CanonicalJSONError, ComposableAgentsError, StagedPlanRejected
from composable_agents.execution.limits import call_charge

if TYPE_CHECKING:
    from composable_agents.authoring.leaves import ToolDef

__all__ = [
    "DEFAULT_THINK_COST_USD",
    "MAX_PLAN_ATTEMPTS",
    "MAX_PLAN_BYTES",
    "MAX_PLAN_DEPTH",
    "MAX_PLAN_INT",
    "MAX_PLAN_NODES",
    "MAX_PLAN_ROUNDS",
    "MAX_PLAN_SHAPE",
    "PLAN_CODES",
    "PlanContext",
    "check_plan",
    "compile_plan",
    "estimate_cost",
    "parse_plan",
    "plan_context",
]

MAX_PLAN_SHAPE: Final = Shape.FEEDBACK
"""The most a plan may be: it may loop (``iter_up_to``) but not stage, fan out per item or act as an agent."""

DEFAULT_THINK_COST_USD: Final = float(DEFAULT_LEAF_COST_USD["think"])
"""Static cost estimate of one reasoner step without ``Ann(cost_usd=...)``."""

MAX_PLAN_BYTES: Final = 1024 * 1024
"""Largest plan (its JSON text, or the JSON size of a decoded reply) a stage compiles.

Far below the IR decoder's document limit: a plan is compiled inside the run
(inside a workflow task on Temporal), which must finish well within the SDK's
deadlock timeout."""

MAX_PLAN_NODES: Final = 10_000
"""Most JSON objects (nodes, steps, annotations) one plan may hold."""

MAX_PLAN_DEPTH: Final = 2 * MAX_NODE_DEPTH
"""Deepest JSON nesting a plan may have (a node is about two JSON levels)."""

MAX_PLAN_ROUNDS: Final = 1000
"""Largest ``iter_up_to`` bound a plan may ask for."""

MAX_PLAN_ATTEMPTS: Final = 10
"""Most attempts a plan may give one call (``maxAttempts``)."""

MAX_PLAN_INT: Final = 2**53
"""Largest magnitude of an integer inside a plan (exact in every JSON implementation)."""

PLAN_CODES: Final[Mapping[str, str]] = {
    "PLAN_PARSE": "The planner's reply is not IR JSON; reply with one IR node (ids optional).",
    "PLAN_EACH": "Plans may not use `each`; unroll the items or move the fan-out into the parent flow.",
    "PLAN_STAGE": "Plans may not stage again; a plan is at most Feedback-shaped.",
    "PLAN_APP": "Plans may not start an agent loop; call granted tools directly.",
    "PLAN_LOOP": "Plans may not open a session loop.",
    "PLAN_RESERVED": "Plans may not use session channels (__recv__/__emit__).",
    "PLAN_SHAPE": "The plan is more than Feedback-shaped; simplify it.",
    "PLAN_UNKNOWN_TOOL": "Call only tools frozen in the parent deployment's manifest.",
    "PLAN_AMBIGUOUS_TOOL": "Several frozen tools match; use the full key or pin one with \"bind\": <hash>.",
    "PLAN_BIND_MISMATCH": "The pinned hash matches no frozen tool with this key.",
    "PLAN_UNKNOWN_REASONER": "Use only reasoners the parent deployment froze.",
    "PLAN_UNKNOWN_SUBFLOW": "Use only sub-flows the parent deployment froze.",
    "PLAN_UNKNOWN_PURE": "Use only registered pures.",
    "PLAN_MALFORMED": "Static args are only for the reserved tools.",
    "PLAN_BUDGET": "The plan's estimated cost exceeds the stage budget; use fewer or cheaper steps.",
    "PLAN_TOO_LARGE": "The plan is over the size, object-count or nesting limit; send a smaller plan.",
    "PLAN_RANGE": "An annotation is not finite (costUsd, timeoutS).",
    "MALFORMED_NODE": "A node breaks deploy's well-formedness checks (costUsd >= 0, timeoutS > 0, quorum k, ...).",
    "PLAN_BOUNDS": "A loop count or attempt count is over the plan bound; use fewer rounds or attempts.",
    "PLAN_COMPILE": "The admitted plan could not be prepared to run; simplify it.",
    "RETRY_RANGE": "maxAttempts is an integer >= 1, retryIntervalS >= 0 and backoffRate >= 1 (as at deploy).",
    "RETRY_UNSAFE": "Only read-only or idempotent tools may retry.",
    "RACE_UNSAFE": "Race only read-only or idempotent tools.",
    "RACE_UNASSERTED": "Assert the MCP tool in the capability manifest before racing it.",
    "RACE_SUB": "Sub-flows cannot run inside a race.",
    "APPROVAL_UNGATED": "Put a human_gate before an approval-required tool.",
}
"""Every code plan compilation can report, with its fix line."""


def _diag(code: str, node_id: str, message: str) -> Diagnostic:
    return Diagnostic(code=code, node_id=node_id, message=message, severity="error", hint=PLAN_CODES[code])


@dataclass(frozen=True, slots=True)
class PlanContext:
    """What a plan may bind to: the parent's frozen tools, reasoners, sub-flows and pures.

    ``budget_usd`` (when set) caps the plan's static cost estimate.
    """

    tools: Mapping[str, ToolDef] = field(default_factory=dict)
    execution_hashes: Mapping[str, str] = field(default_factory=dict)
    reasoners: frozenset[str] = frozenset()
    subflows: frozenset[str] = frozenset()
    registry: Registry = DEFAULT_REGISTRY
    budget_usd: float | None = None
    definition_hashes: Mapping[str, str] = field(default_factory=dict)

    def exec_hash(self, key: str) -> str | None:
        """The execution hash frozen for ``key`` (computed from the definition if absent)."""
        found = self.execution_hashes.get(key)
        if found is None and key in self.tools:
            from composable_agents.compiler.freeze import execution_hash

            found = execution_hash(self.tools[key])
        return found


def plan_context(manifest: Any, *, budget_usd: float | None = None) -> PlanContext:
    """A :class:`PlanContext` from a ``Deployment``, ``Catalog``, ``Frozen``, ``Agent``,
    a ``PlanContext``, a ``{key: ToolDef}`` mapping, or an iterable of ``@tool``s/``ToolDef``s.
    """
    from composable_agents.authoring.leaves import Tool, ToolDef

    if isinstance(manifest, PlanContext):
        return dataclasses.replace(manifest, budget_usd=budget_usd) if budget_usd is not None else manifest
    if hasattr(manifest, "plan_manifest"):  # the Agent facade
        manifest = manifest.plan_manifest()
    if hasattr(manifest, "catalog") and callable(manifest.catalog):  # a Deployment
        manifest = manifest.catalog()
    registry = getattr(manifest, "registry", DEFAULT_REGISTRY)
    if hasattr(manifest, "execution_hashes") and hasattr(manifest, "tools"):  # Catalog / Frozen
        tools = dict(manifest.tools)
        return PlanContext(
            tools=tools,
            execution_hashes=dict(manifest.execution_hashes),
            reasoners=frozenset(manifest.reasoners),
            subflows=frozenset(manifest.subflows),
            registry=registry,
            budget_usd=budget_usd,
        )
    defs: dict[str, ToolDef] = {}
    items: Iterable[Any] = manifest.values() if isinstance(manifest, Mapping) else (manifest or ())
    for item in items:
        definition = item.definition if isinstance(item, Tool) else item
        if not isinstance(definition, ToolDef):
            msg = f"a plan manifest lists tools, got {item!r}"
            raise TypeError(msg)
        defs[definition.key] = definition
    return PlanContext(tools=defs, budget_usd=budget_usd)


_UNESTIMABLE: Final = frozenset({"PLAN_BOUNDS", "PLAN_RANGE", "RETRY_RANGE", "MALFORMED_NODE"})
"""Codes after which the plan's cost is not estimated (its numbers are not trustworthy)."""


def _too_large(what: str) -> StagedPlanRejected:
    return StagedPlanRejected(f"plan rejected: {what}", [_diag("PLAN_TOO_LARGE", "$", what)])


def _check_plan_size(doc: object) -> None:
    """Refuse a plan over :data:`MAX_PLAN_BYTES`/:data:`MAX_PLAN_NODES`/:data:`MAX_PLAN_DEPTH` before decoding it.

    The walk is iterative and stops at the first limit it crosses, so a huge
    or deeply nested reply costs at most the limits' worth of work: on
    Temporal this runs inside a workflow task, which must never time out.
    Huge integers, non-finite floats and lone surrogates are ``PLAN_PARSE``.
    """
    size = 0
    count = 0
    stack: list[tuple[object, int]] = [(doc, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_PLAN_DEPTH:
            raise _too_large(f"the plan nests deeper than {MAX_PLAN_DEPTH} levels")
        kind = type(item)
        if kind is dict:
            count += 1
            for key, value in item.items():  # type: ignore[attr-defined]
                size += len(key) + 4 if type(key) is str else 8
                if type(key) is str and not key.isascii() and has_lone_surrogate(key):
                    raise _bad_value("a key holds a lone surrogate")
                stack.append((value, depth + 1))
        elif kind is list:
            size += 2
            stack.extend((v, depth + 1) for v in item)  # type: ignore[attr-defined]
        elif kind is str:
            size += len(item) + 2  # type: ignore[arg-type]
            if not item.isascii() and has_lone_surrogate(item):  # type: ignore[attr-defined]
                raise _bad_value("a string holds a lone surrogate")
        elif kind is int:
            size += 8
            if not -MAX_PLAN_INT <= item <= MAX_PLAN_INT:  # type: ignore[operator]
                raise _bad_value("an integer is out of range (|n| > 2**53)")
        elif kind is float:
            size += 8
            if not math.isfinite(item):  # type: ignore[arg-type]
                raise _bad_value(f"a number is not finite ({item!r})")
        else:
            size += 4
        if size > MAX_PLAN_BYTES:
            raise _too_large(f"the plan is larger than {MAX_PLAN_BYTES} bytes of JSON")
        if count > MAX_PLAN_NODES:
            raise _too_large(f"the plan holds more than {MAX_PLAN_NODES} objects")


def _bad_value(what: str) -> StagedPlanRejected:
    return StagedPlanRejected(f"plan does not decode: {what}", [_diag("PLAN_PARSE", "$", what)])


def parse_plan(reply: object) -> Node:
    """The plan node in a planner ``reply``; :class:`StagedPlanRejected` (``PLAN_PARSE``) otherwise.

    A plan text is size-checked before it is parsed and a decoded plan before
    it is compiled (``PLAN_TOO_LARGE``, see :func:`_check_plan_size`).
    """
    doc = reply
    if isinstance(doc, str | bytes | bytearray) and len(doc) > MAX_PLAN_BYTES:
        raise _too_large(f"the plan text is {len(doc)} bytes, over the limit of {MAX_PLAN_BYTES}")
    if isinstance(doc, str | bytes | bytearray):
        try:  # the IR decoder's strict loader (SPEC §22.8): duplicate keys, surrogates, depth, numbers, size
            doc = loads_strict(doc, max_chars=MAX_DOCUMENT_BYTES)
        except CanonicalJSONError as exc:
            raise StagedPlanRejected("plan is not JSON", [_diag("PLAN_PARSE", "$", str(exc))]) from None
    if type(doc) is dict and "op" not in doc and set(doc) == {"plan"}:
        doc = doc["plan"]
    _check_plan_size(doc)
    try:
        node = Node.from_json(doc)
        return normalize(node)
    except ComposableAgentsError as exc:
        raise StagedPlanRejected(f"plan does not decode: {exc}", [_diag("PLAN_PARSE", "$", str(exc))]) from None
    except (RecursionError, ValueError, TypeError) as exc:
        raise StagedPlanRejected("plan does not decode", [_diag("PLAN_PARSE", "$", str(exc))]) from None


def estimate_cost(node: Node, tools: Mapping[str, ToolDef] | None = None) -> float:
    """Static cost estimate: leaves by ``Ann``/tool defaults, ``par`` sums, ``alt`` takes the max,
    ``iter_up_to`` multiplies by its bound."""
    tools = tools or {}
    memo: dict[int, float] = {}
    stack: list[tuple[Node, bool]] = [(normalize(node), False)]
    while stack:
        current, expanded = stack.pop()
        kids = current.children()
        if kids and not expanded:
            stack.append((current, True))
            stack.extend((k, False) for k in kids)
            continue
        own = current.ann.cost_usd if current.ann is not None and current.ann.cost_usd is not None else None
        if own is not None and (not math.isfinite(own) or own < 0):
            own = None  # never a discount: admission reports it as PLAN_RANGE
        if isinstance(current, Prim):
            step = current.step
            if isinstance(step, CallStep) and step.tool in tools:
                own = call_charge(own, tools[step.tool])  # what the call will be charged (SPEC §22.2)
            elif own is None:
                own = DEFAULT_THINK_COST_USD if isinstance(step, ThinkStep) else 0.0
            memo[id(current)] = own
            continue
        costs = [memo[id(k)] for k in kids]
        if isinstance(current, Alt):
            total = max(costs, default=0.0)
        elif isinstance(current, IterUpTo):
            total = sum(costs) * current.max_rounds
        else:
            total = sum(costs)
        memo[id(current)] = total + (own or 0.0)
    return memo[id(normalize(node))]


_FORBIDDEN: Final[dict[type[Node], tuple[str, str]]] = {
    Each: ("PLAN_EACH", "each"),
    EvalPlan: ("PLAN_STAGE", "stage (eval_plan)"),
    App: ("PLAN_APP", "app"),
    Loop: ("PLAN_LOOP", "loop"),
}


def _resolve(step: CallStep, nid: str, ctx: PlanContext, diags: list[Diagnostic]) -> str | None:
    key = step.tool
    candidates = [key] if key in ctx.tools else [k for k in sorted(ctx.tools) if k.rsplit("/", 1)[-1] == key]
    if step.bind is not None and candidates:
        pinned = [k for k in candidates if step.bind in (ctx.exec_hash(k), ctx.tools[k].definition_hash())]
        if not pinned:
            diags.append(_diag("PLAN_BIND_MISMATCH", nid, f"no frozen tool {key!r} has the pinned hash {step.bind[:23]}..."))
            return None
        candidates = pinned
    if not candidates:
        diags.append(_diag("PLAN_UNKNOWN_TOOL", nid, f"tool {key!r} is not frozen in the parent manifest"))
        return None
    if len(candidates) > 1:
        listed = ", ".join(repr(c) for c in candidates)
        diags.append(_diag("PLAN_AMBIGUOUS_TOOL", nid, f"tool {key!r} matches {listed}"))
        return None
    return candidates[0]


def _gated_before(path: list[tuple[Node, int]]) -> bool:
    """True when a ``__human_gate__`` step precedes the current position in an enclosing ``seq``."""
    for parent, index in path:
        if isinstance(parent, Seq):
            for earlier in parent.steps[:index]:
                if isinstance(earlier, Prim) and isinstance(earlier.step, CallStep) and earlier.step.tool == "__human_gate__":
                    return True
    return False


def check_plan(reply: object, ctx: PlanContext, *, prefix: str = "$") -> tuple[Node | None, list[Diagnostic]]:
    """Compile ``reply`` against ``ctx``: the bound node (or ``None``) and every diagnostic.

    Never raises on a bad plan; ids in diagnostics are prefixed with ``prefix``.
    Anything unexpected while compiling is a ``PLAN_PARSE`` diagnostic too,
    so a plan can only ever end a run ``plan_rejected`` (SPEC §22.3).
    """
    try:
        return _check_plan(reply, ctx, prefix)
    except StagedPlanRejected as exc:
        return None, list(exc.diagnostics)
    except Exception as exc:  # noqa: BLE001 - a planner's reply must never crash the run (or a workflow task)
        return None, [_diag("PLAN_PARSE", prefix, f"plan could not be compiled: {type(exc).__name__}: {exc}"[:300])]


def _ann_problems(node: Node) -> tuple[list[str], list[str], list[str]]:
    """Deploy's ``MALFORMED_NODE`` and ``RETRY_RANGE`` findings, then the plan's ``PLAN_RANGE``/``PLAN_BOUNDS``.

    The deploy checks are the very functions ``deploy`` runs (costUsd >= 0,
    timeoutS > 0, quorum/hedge/alt arity, ...); static args on a tool are
    left to ``PLAN_MALFORMED``.
    """
    malformed = [p for p in _malformed(node) if not p.startswith("tool ")]
    retry = _retry_range(node)
    ranges: list[str] = []
    ann = node.ann
    if ann is not None:
        for label, value in (("costUsd", ann.cost_usd), ("timeoutS", ann.timeout_s)):
            if value is not None and value >= 0 and not math.isfinite(value):
                ranges.append(f"{label} must be finite, got {value!r}")
        if type(ann.max_attempts) is int and ann.max_attempts > MAX_PLAN_ATTEMPTS:
            ranges.append(f"BOUNDS:maxAttempts must be <= {MAX_PLAN_ATTEMPTS}, got {ann.max_attempts}")
    if isinstance(node, IterUpTo) and type(node.max_rounds) is int and node.max_rounds > MAX_PLAN_ROUNDS:
        ranges.append(f"BOUNDS:iter_up_to max must be <= {MAX_PLAN_ROUNDS}, got {node.max_rounds}")
    return malformed, retry, ranges


def _check_plan(reply: object, ctx: PlanContext, prefix: str) -> tuple[Node | None, list[Diagnostic]]:
    node = parse_plan(reply)
    diags: list[Diagnostic] = []
    bound: dict[int, str] = {}
    # Pre-order walk with the (parent, index) path for gate dominance and race context.
    stack: list[tuple[Node, str, list[tuple[Node, int]], bool]] = [(node, prefix, [], False)]
    while stack:
        current, nid, path, in_race = stack.pop()
        forbidden = _FORBIDDEN.get(type(current))
        if forbidden is not None:
            code, label = forbidden
            diags.append(_diag(code, nid, f"plans may not use {label}"))
        malformed, retry_problems, range_problems = _ann_problems(current)
        for problem in malformed:
            diags.append(_diag("MALFORMED_NODE", nid, problem))
        for problem in retry_problems:
            diags.append(_diag("RETRY_RANGE", nid, problem))
        for problem in range_problems:
            code = "PLAN_BOUNDS" if problem.startswith("BOUNDS:") else "PLAN_RANGE"
            diags.append(_diag(code, nid, problem.removeprefix("BOUNDS:")))
        if isinstance(current, Arr) and not ctx.registry.has_pure(current.pure):
            diags.append(_diag("PLAN_UNKNOWN_PURE", nid, f"pure {current.pure!r} is not registered"))
        for ref in _pure_refs(current):
            if not ctx.registry.has_pure(ref):
                diags.append(_diag("PLAN_UNKNOWN_PURE", nid, f"pure {ref!r} is not registered"))
        if isinstance(current, Prim):
            step = current.step
            if isinstance(step, CallStep):
                if step.tool in ("__recv__", "__emit__"):
                    diags.append(_diag("PLAN_RESERVED", nid, f"plans may not use {step.tool}"))
                elif step.tool in RESERVED_TOOLS:
                    pass
                else:
                    if step.args is not None:
                        diags.append(_diag("PLAN_MALFORMED", nid, f"call to {step.tool!r} carries static args"))
                    key = _resolve(step, nid, ctx, diags)
                    if key is not None:
                        bound[id(current)] = key
                        tool = ctx.tools[key]
                        contract = tool.contract
                        ann = current.ann
                        if not contract.retry_safe and ann is not None and (ann.max_attempts or 1) > 1:
                            diags.append(_diag("RETRY_UNSAFE", nid, f"tool {key!r} is not idempotent but asks for retries"))
                        if in_race:
                            race_code = race_safe(tool, current, asserted=False)
                            if race_code is not None:
                                diags.append(_diag(race_code, nid, f"tool {key!r} ({contract.effect}) cannot race"))
                        if needs_approval(tool, current) and not _gated_before(path):
                            diags.append(_diag("APPROVAL_UNGATED", nid, f"tool {key!r} needs a human_gate before it"))
            elif isinstance(step, ThinkStep):
                if step.reasoner not in ctx.reasoners:
                    diags.append(_diag("PLAN_UNKNOWN_REASONER", nid, f"reasoner {step.reasoner!r} is not frozen in the parent"))
            elif isinstance(step, SubStep):
                if step.ref not in ctx.subflows:
                    diags.append(_diag("PLAN_UNKNOWN_SUBFLOW", nid, f"sub-flow {step.ref!r} is not frozen in the parent"))
                if in_race:
                    diags.append(_diag("RACE_SUB", nid, f"sub-flow {step.ref!r} inside a race"))
        race_here = isinstance(current, Par) and current.merge is not Merge.ALL
        kids = current.children()
        for i in range(len(kids) - 1, -1, -1):
            stack.append((kids[i], f"{nid}.{i}", [*path, (current, i)], in_race or race_here))
    if not any(d.code in ("PLAN_EACH", "PLAN_STAGE", "PLAN_APP", "PLAN_LOOP") for d in diags):
        shape = closed_shape(node)
        if shape > MAX_PLAN_SHAPE:
            diags.append(_diag("PLAN_SHAPE", prefix, f"the plan is {shape}-shaped; at most {MAX_PLAN_SHAPE} is allowed"))
    if ctx.budget_usd is not None and not any(d.code in _UNESTIMABLE for d in diags):
        cost = estimate_cost(node, ctx.tools)
        if cost > ctx.budget_usd + 1e-12:
            diags.append(_diag("PLAN_BUDGET", prefix, f"estimated cost ${cost:.4f} exceeds the stage budget ${ctx.budget_usd:.4f}"))
    if diags:
        return None, diags
    return _bind(node, bound, ctx), []


def _pure_refs(node: Node) -> list[str]:
    refs = []
    if isinstance(node, Par | Each) and node.reducer is not None:
        refs.append(node.reducer.name)
    if isinstance(node, Alt):
        refs.extend(r.name for r in (node.pred, node.selector) if r is not None)
    if isinstance(node, IterUpTo) and node.until is not None:
        refs.append(node.until.name)
    return refs


def _bind(node: Node, bound: Mapping[int, str], ctx: PlanContext) -> Node:
    """A copy of ``node`` with every resolved call rewritten to its full key and execution hash."""
    from composable_agents.core.codec import _rebuild

    memo: dict[int, Node] = {}
    stack: list[tuple[Node, bool]] = [(node, False)]
    while stack:
        current, expanded = stack.pop()
        kids = current.children()
        if kids and not expanded:
            stack.append((current, True))
            stack.extend((k, False) for k in kids)
            continue
        key = bound.get(id(current))
        if key is not None:
            assert isinstance(current, Prim) and isinstance(current.step, CallStep)
            memo[id(current)] = dataclasses.replace(current, step=CallStep(key, ctx.exec_hash(key), current.step.args))
        elif kids:
            memo[id(current)] = _rebuild(current, [memo[id(k)] for k in kids])
        else:
            memo[id(current)] = current
    return normalize(memo[id(node)])


def compile_plan(reply: object, ctx: PlanContext | Any, *, prefix: str = "$") -> Node:
    """The admitted, bound plan node; :class:`StagedPlanRejected` with every diagnostic otherwise."""
    if not isinstance(ctx, PlanContext):
        ctx = plan_context(ctx)
    node, diags = check_plan(reply, ctx, prefix=prefix)
    if node is None:
        codes = ", ".join(sorted({d.code for d in diags}))
        raise StagedPlanRejected(f"plan rejected ({codes})", diags)
    return node


def plan_json(node: Node, *, root_id: str = "$") -> JsonObject:
    """The wire form of a compiled plan (for projections and logs)."""
    return node.to_json(root_id=root_id)


