"""Validate (SPEC §7 step 2): resolution, well-formedness, retries, schema edges, secrets.

Every check returns all of its diagnostics. Codes: ``UNRESOLVED_CALL``,
``UNRESOLVED_REASONER``, ``UNKNOWN_PURE``, ``UNRESOLVED_SUBFLOW``,
``MALFORMED_NODE``, ``RETRY_RANGE``, ``RETRY_UNSAFE``, ``SCHEMA_MISMATCH``,
``SECRET_ARG`` and the warning ``WHOLE_SESSION_PAR``.

Schema checks compare two *known* schemas structurally (SPEC §22.10): primitive
``type`` sets that cannot overlap, a property the consumer requires that the
producer's object never has, and property or item schemas that conflict, at any
depth. They stay conservative: an unknown side (``Any``, ``anyOf``, ``$ref``, an
open mapping) is never a mismatch.

Secrets (SPEC §22.5) are found by :mod:`composable_agents.core.secrets` in every
static arg (gate prompts included) and in the definition of every reasoner the
flow uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from composable_agents.compiler.capabilities import call_contract
from composable_agents.compiler.diagnostics import Diagnostic, diag
from composable_agents.core.canonical import Json, JsonObject
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
    PureRef,
    Seq,
    ThinkStep,
)
from composable_agents.core.kinds import ContextScope, Effect, Idempotency, Merge
from composable_agents.core.pures import DEFAULT_REGISTRY, Registry
from composable_agents.core.secrets import looks_secret

if TYPE_CHECKING:
    from composable_agents.compiler.freeze import Frozen

__all__ = ["looks_secret", "resolution", "validate", "validate_frozen"]


def resolution(frozen: Frozen) -> list[Diagnostic]:
    """Unknown tools, reasoners, pures and sub-flows of a frozen flow."""
    out: list[Diagnostic] = []
    for nid, key in frozen.unresolved_tools:
        out.append(diag("UNRESOLVED_CALL", nid, f"tool {key!r} does not exist in this deployment"))
    for nid, name in frozen.unresolved_reasoners:
        out.append(diag("UNRESOLVED_REASONER", nid, f"reasoner {name!r} does not exist in this deployment"))
    for nid, name in frozen.unknown_pures:
        out.append(diag("UNKNOWN_PURE", nid, f"pure {name!r} is not registered"))
    for nid, ref in frozen.unresolved_subflows:
        out.append(
            diag(
                "UNRESOLVED_SUBFLOW",
                nid,
                f"sub-flow {ref!r} is not a named flow",
                hint=f"Name the child flow with .named({ref!r}) before deploying the parent.",
            )
        )
    return out


validate_frozen = resolution
"""Backwards-compatible name of :func:`resolution`."""


# -- secrets -----------------------------------------------------------------------

def _secret_paths(value: Json, path: str, key: str | None, out: list[str]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _secret_paths(v, f"{path}.{k}", k, out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _secret_paths(v, f"{path}[{i}]", key, out)
    elif looks_secret(key, value):
        out.append(path)


# -- schemas -------------------------------------------------------------------------


def _types(schema: JsonObject | None) -> set[str] | None:
    if not schema:
        return None
    t = schema.get("type")
    if isinstance(t, str):
        raw = {t}
    elif isinstance(t, list) and t and all(isinstance(x, str) for x in t):
        raw = {str(x) for x in t}
    else:
        return None
    return raw


def _overlap(produced: set[str], wanted: set[str]) -> bool:
    def norm(types: set[str]) -> set[str]:
        return {"number" if x == "integer" else x for x in types}

    return bool(norm(produced) & norm(wanted))


_OPAQUE: Final = ("anyOf", "oneOf", "allOf", "$ref", "not", "if")


def _conflict(produced: JsonObject, wanted: JsonObject, path: str, depth: int = 0) -> str | None:
    """Why a value of schema ``produced`` can never be a valid ``wanted`` (``None`` when it may be)."""
    if depth > 32 or any(k in produced or k in wanted for k in _OPAQUE):
        return None
    p_types, w_types = _types(produced), _types(wanted)
    if p_types is not None and w_types is not None and not _overlap(p_types, w_types):
        return f"at {path} it gives {'/'.join(sorted(p_types))} where {'/'.join(sorted(w_types))} is expected"
    p_props, w_props = produced.get("properties"), wanted.get("properties")
    if isinstance(p_props, dict) and isinstance(wanted.get("required"), list):
        open_extra = produced.get("additionalProperties")
        if not isinstance(open_extra, dict) or not open_extra:
            for key in wanted["required"]:
                if isinstance(key, str) and key not in p_props:
                    return f"at {path} it lacks the required property {key!r}"
    if isinstance(p_props, dict) and isinstance(w_props, dict):
        for key in sorted(set(p_props) & set(w_props)):
            sub_p, sub_w = p_props[key], w_props[key]
            if isinstance(sub_p, dict) and isinstance(sub_w, dict):
                found = _conflict(sub_p, sub_w, f"{path}.{key}", depth + 1)
                if found is not None:
                    return found
    p_items, w_items = produced.get("items"), wanted.get("items")
    if isinstance(p_items, dict) and isinstance(w_items, dict):
        return _conflict(p_items, w_items, f"{path}[]", depth + 1)
    return None


class _Schemas:
    """Boundary schemas of leaves (``None`` when unknown), cached per name."""

    def __init__(self, frozen: Frozen, registry: Registry) -> None:
        self.frozen = frozen
        self.registry = registry
        self.cache: dict[tuple[str, str, str], JsonObject | None] = {}

    def _type_schema(self, tp: object) -> JsonObject | None:
        from composable_agents.core.schema import is_any, schema_of

        if tp is None or is_any(tp):
            return None
        try:
            return dict(schema_of(tp) or {}) or None
        except Exception:  # noqa: BLE001 - an underivable annotation is simply unknown
            return None

    def of(self, node: Node, side: str) -> JsonObject | None:
        if isinstance(node, Prim):
            step = node.step
            if isinstance(step, CallStep):
                key = ("call", step.tool, side)
                if key not in self.cache:
                    tool = self.frozen.tools.get(step.tool)
                    if tool is None:
                        self.cache[key] = None
                    else:
                        schema = tool.contract.input_schema if side == "in" else tool.contract.output_schema
                        self.cache[key] = dict(schema) if schema else None
                return self.cache[key]
            if isinstance(step, ThinkStep):
                key = ("think", step.reasoner, side)
                if key not in self.cache:
                    r = self.frozen.reasoners.get(step.reasoner)
                    self.cache[key] = None if r is None else self._type_schema(r.prompt if side == "in" else r.reply)
                return self.cache[key]
            return None
        if isinstance(node, Arr):
            key = ("arr", node.pure, side)
            if key not in self.cache:
                if not self.registry.has_pure(node.pure):
                    self.cache[key] = None
                else:
                    pdef = self.registry.pure(node.pure)
                    self.cache[key] = None if pdef.std else self._type_schema(pdef.in_type if side == "in" else pdef.out_type)
            return self.cache[key]
        return None


def _label(node: Node) -> str:
    if isinstance(node, Prim):
        step = node.step
        if isinstance(step, CallStep):
            return f"tool {step.tool!r}"
        if isinstance(step, ThinkStep):
            return f"reasoner {step.reasoner!r}"
    if isinstance(node, Arr):
        return f"pure {node.pure!r}"
    return f"a {node.OP} node"


# -- well-formedness ---------------------------------------------------------------------


def _malformed(node: Node) -> list[str]:
    problems: list[str] = []
    if isinstance(node, Par):
        n = len(node.branches)
        if n == 0:
            problems.append("a par needs at least one branch")
        if node.merge is Merge.QUORUM:
            if node.k is None or type(node.k) is not int or not 1 <= node.k <= n:
                problems.append(f"quorum needs 1 <= k <= {n} (the branch count), got k={node.k!r}")
        elif node.k is not None:
            problems.append(f"k is only meaningful for merge='quorum', not {str(node.merge)!r}")
        if node.merge is Merge.HEDGE:
            if node.hedge_ms is None or type(node.hedge_ms) is not int or node.hedge_ms < 0:
                problems.append(f"hedge needs an integer hedgeMs >= 0, got {node.hedge_ms!r}")
        elif node.hedge_ms is not None:
            problems.append(f"hedgeMs is only meaningful for merge='hedge', not {str(node.merge)!r}")
    elif isinstance(node, Alt):
        if (node.pred is None) == (node.selector is None):
            problems.append("an alt needs exactly one of a predicate pure or a selector pure")
        elif node.pred is not None and len(node.branches) != 2:
            problems.append(f"a binary alt needs exactly 2 branches, got {len(node.branches)}")
        elif node.selector is not None:
            cases = list(node.cases or ())
            if len(node.branches) != len(cases) + 1:
                problems.append(
                    f"a switch alt needs one branch per case plus a default ({len(cases) + 1}), "
                    f"got {len(node.branches)}"
                )
            from composable_agents.core.canonical import canonical_dumps

            seen = [canonical_dumps(c) for c in cases]
            if len(set(seen)) != len(seen):
                problems.append("a switch alt has duplicate cases")
    elif isinstance(node, IterUpTo):
        if type(node.max_rounds) is not int or node.max_rounds < 1:
            problems.append(f"iter_up_to needs max >= 1, got {node.max_rounds!r}")
    elif isinstance(node, Each):
        if node.max_parallel is not None and (type(node.max_parallel) is not int or node.max_parallel < 1):
            problems.append(f"each needs maxParallel >= 1, got {node.max_parallel!r}")
    elif isinstance(node, App):
        if node.max_rounds is not None and (type(node.max_rounds) is not int or node.max_rounds < 1):
            problems.append(f"app needs maxRounds >= 1, got {node.max_rounds!r}")
        if len(set(node.tools)) != len(node.tools):
            problems.append("app lists a tool twice")
    elif isinstance(node, Prim) and isinstance(node.step, CallStep):
        step = node.step
        if step.tool == "__human_gate__":
            args = step.args or {}
            if not isinstance(args.get("prompt"), str):
                problems.append("a human gate needs a string prompt")
            if args.get("onReject", "end") not in ("end", "value"):
                problems.append(f"a human gate's onReject must be 'end' or 'value', got {args.get('onReject')!r}")
        elif step.tool not in RESERVED_TOOLS and step.args:
            problems.append(f"tool {step.tool!r} takes no static args (only reserved tools do)")
    ann = node.ann
    if ann is not None:
        if ann.timeout_s is not None and not ann.timeout_s > 0:
            problems.append(f"timeoutS must be > 0, got {ann.timeout_s!r}")
        if ann.cost_usd is not None and not ann.cost_usd >= 0:
            problems.append(f"costUsd must be >= 0, got {ann.cost_usd!r}")
    return problems


def _retry_range(node: Node) -> list[str]:
    ann = node.ann
    if ann is None:
        return []
    problems = []
    if ann.max_attempts is not None and (type(ann.max_attempts) is not int or ann.max_attempts < 1):
        problems.append(f"maxAttempts must be an integer >= 1, got {ann.max_attempts!r}")
    if ann.retry_interval_s is not None and not ann.retry_interval_s >= 0:
        problems.append(f"retryIntervalS must be >= 0, got {ann.retry_interval_s!r}")
    if ann.backoff_rate is not None and not ann.backoff_rate >= 1:
        problems.append(f"backoffRate must be >= 1, got {ann.backoff_rate!r}")
    return problems


def _static_args(node: Node) -> list[tuple[str, Json]]:
    out: list[tuple[str, Json]] = []
    refs: list[tuple[str, PureRef | None]] = []
    if isinstance(node, Arr) and node.args:
        out.append((f"args of pure {node.pure!r}", node.args))
    elif isinstance(node, Prim) and isinstance(node.step, CallStep) and node.step.args:
        out.append((f"args of tool {node.step.tool!r}", node.step.args))
    elif isinstance(node, Par | Each):
        refs.append(("reducer", node.reducer))
    elif isinstance(node, Alt):
        refs.extend((("predicate", node.pred), ("selector", node.selector)))
    elif isinstance(node, IterUpTo):
        refs.append(("until", node.until))
    elif isinstance(node, App) and node.budget:
        out.append(("the app budget", node.budget))
    elif isinstance(node, Loop) and node.init is not None:
        out.append(("the session's initial carrier", node.init))
    if isinstance(node, Alt) and node.cases:
        out.append(("the switch cases", list(node.cases)))
    for what, ref in refs:
        if ref is not None and ref.args:
            out.append((f"args of the {what} pure {ref.name!r}", ref.args))
    return out


def validate(
    frozen: Frozen | Any,
    *,
    registry: Registry | None = None,
    nodes: Sequence[tuple[str, Node, str | None]] | None = None,
) -> list[Diagnostic]:
    """Every validation diagnostic of ``frozen`` (resolution included).

    ``frozen`` may also be an arrow or a node: it is frozen first against the
    registry's tools and reasoners.
    """
    from composable_agents.compiler.freeze import Frozen, all_nodes, freeze

    reg = registry or DEFAULT_REGISTRY
    if not isinstance(frozen, Frozen):
        frozen = freeze(frozen, registry=reg)
    out = resolution(frozen)
    items = nodes if nodes is not None else all_nodes(frozen)
    in_par: set[str] = set()
    schemas = _Schemas(frozen, reg)
    tools = frozen.tools
    used_reasoners: set[str] = set()
    for nid, node, parent in items:
        src = node.src
        if parent is not None and parent in in_par:
            in_par.add(nid)
        if isinstance(node, Par):
            in_par.add(nid)
        for problem in _malformed(node):
            out.append(diag("MALFORMED_NODE", nid, problem, source=src))
        for problem in _retry_range(node):
            out.append(diag("RETRY_RANGE", nid, problem, source=src))
        if isinstance(node, Prim) and isinstance(node.step, CallStep):
            tool = tools.get(node.step.tool)
            attempts = node.ann.max_attempts if node.ann is not None else None
            if tool is not None and type(attempts) is int and attempts > 1:
                effect, idem = call_contract(tool, node)
                if effect is not Effect.READ and idem is Idempotency.NONE:
                    out.append(
                        diag(
                            "RETRY_UNSAFE",
                            nid,
                            f"tool {tool.key!r} is {effect}/{idem} but asks for maxAttempts={attempts}",
                            source=src,
                        )
                    )
        if (
            node.ctx is not None
            and node.ctx.scope is ContextScope.WHOLE_SESSION
            and parent is not None
            and parent in in_par
        ):
            out.append(
                diag(
                    "WHOLE_SESSION_PAR",
                    nid,
                    f"{_label(node)} reads the whole session inside a par; the par's branches will run sequentially",
                    source=src,
                )
            )
        for what, args in _static_args(node):
            found: list[str] = []
            _secret_paths(args, "args", None, found)
            for path in found:
                out.append(diag("SECRET_ARG", nid, f"{what}: {path} looks like a secret", source=src))
        if isinstance(node, Seq):
            steps = node.steps
            for i in range(len(steps) - 1):
                left, right = steps[i], steps[i + 1]
                produced = schemas.of(left, "out")
                if produced is None:
                    continue
                wanted = schemas.of(right, "in")
                if wanted is None:
                    continue
                p_types, w_types = _types(produced), _types(wanted)
                if p_types is not None and w_types is not None and not _overlap(p_types, w_types):
                    message = (
                        f"{_label(left)} returns {'/'.join(sorted(p_types))} but {_label(right)} "
                        f"takes {'/'.join(sorted(w_types))}"
                    )
                else:
                    if "properties" not in produced and "items" not in produced:
                        continue  # primitive, or an open mapping: nothing structural to compare
                    why = _conflict(produced, wanted, "$")
                    if why is None:
                        continue
                    message = f"{_label(left)} feeds {_label(right)}, but {why}"
                out.append(diag("SCHEMA_MISMATCH", f"{nid}.{i + 1}", message, source=right.src or left.src))
        elif isinstance(node, App | EvalPlan):
            used_reasoners.add(node.controller if isinstance(node, App) else node.planner)
        elif isinstance(node, Prim) and isinstance(node.step, ThinkStep):
            used_reasoners.add(node.step.reasoner)
    for name in sorted(used_reasoners):
        reasoner = frozen.reasoners.get(name)
        if reasoner is None:
            continue
        found = []
        _secret_paths(reasoner.definition_json(), "definition", None, found)
        for path in found:
            out.append(
                diag(
                    "SECRET_ARG",
                    f"reasoner:{name}",
                    f"reasoner {name!r}: {path} looks like a secret",
                    hint="keep credentials out of reasoner definitions (they are frozen into the artifact); "
                    "the model caller reads its key from the environment",
                )
            )
    return out

