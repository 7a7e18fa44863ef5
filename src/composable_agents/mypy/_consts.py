"""Fully qualified names the plugin dispatches on (kept in one place)."""

from __future__ import annotations

from typing import Final

ARROW: Final = "composable_agents.authoring.arrow.Arrow"
PIPELINE: Final = "composable_agents.authoring.arrow.Pipeline"
DATAFLOW: Final = "composable_agents.authoring.arrow.Dataflow"
BRANCHING: Final = "composable_agents.authoring.arrow.Branching"
FEEDBACK: Final = "composable_agents.authoring.arrow.Feedback"
STAGED: Final = "composable_agents.authoring.arrow.Staged"

SHAPE_CLASSES: Final = (PIPELINE, DATAFLOW, BRANCHING, FEEDBACK, STAGED, ARROW)
"""The shape classes in lattice order: a class's rank is its index."""

AS_TYPE: Final = "composable_agents.authoring.adapters.AsType"
"""The checked crossing: an edge into it is never an any-edge."""

RSHIFT: Final = "__rshift__"
AND: Final = "__and__"
OR: Final = "__or__"

OPERATOR_FLOORS: Final = {RSHIFT: 0, AND: 1, OR: 2}
"""Operator method -> rank of the operator's floor (``>>`` Pipeline, ``&`` Dataflow, ``|`` Branching)."""

TYPED_SEQ: Final = "composable_agents.authoring.typed.seq"
TYPED_FANOUT: Final = "composable_agents.authoring.typed.fanout"
TYPED_CHOICE: Final = "composable_agents.authoring.typed.choice"
TYPED_EACH: Final = "composable_agents.authoring.typed.each"
EXPECT: Final = "composable_agents.authoring.adapters.expect"
KERNEL_SEQ: Final = "composable_agents.authoring.kernel.seq"

KERNEL_PAR: Final = "composable_agents.authoring.kernel.par"
KERNEL_FANOUT: Final = "composable_agents.authoring.kernel.fanout"
KERNEL_EACH: Final = "composable_agents.authoring.kernel.each"
RACE: Final = "composable_agents.authoring.derived.race"
HEDGE: Final = "composable_agents.authoring.derived.hedge"
QUORUM: Final = "composable_agents.authoring.derived.quorum"
VOTE: Final = "composable_agents.authoring.derived.vote"
MAP_N: Final = "composable_agents.authoring.derived.map_n"

FUNCTION_FLOORS: Final = {
    TYPED_SEQ: 0,
    TYPED_FANOUT: 1,
    TYPED_CHOICE: 2,
    TYPED_EACH: 1,
    EXPECT: 0,
    KERNEL_PAR: 1,
    KERNEL_FANOUT: 1,
    KERNEL_EACH: 1,
    RACE: 1,
    HEDGE: 1,
    QUORUM: 1,
    VOTE: 1,
    MAP_N: 1,
}
"""Overloaded n-ary functions whose result class is the join of their arrow arguments."""

MAX_ARITY: Final = {TYPED_SEQ: 6, TYPED_FANOUT: 5, TYPED_CHOICE: 5, KERNEL_PAR: 5, KERNEL_FANOUT: 5}
"""The largest arity with per-arity overloads: a longer call takes the fallback untouched."""

BUILDERS_ONLY: Final = frozenset({KERNEL_EACH})
"""Dual-use functions whose join applies to the builder form (one positional arrow) only;
the ``@flow`` form (``each(body, items, ...)``) is left to plain overload resolution."""

SEQUENCES: Final = frozenset({TYPED_SEQ, KERNEL_SEQ})
"""Functions whose consecutive arguments are composition edges."""

TOOL: Final = "composable_agents.authoring.leaves.Tool"
CALL: Final = "__call__"
STEP_OPTION_TYPES: Final = (
    ("name", "builtins.str"),
    ("retries", "builtins.int"),
    ("timeout_s", "builtins.float"),
    ("retry_interval_s", "builtins.float"),
    ("backoff_rate", "builtins.float"),
)
"""The step options every tool call takes in a ``@flow`` body (SPEC §4), in ``Tool.__call__``'s
order; the plugin appends the missing ones to a tool class's call (``RecordTool``'s ``ParamSpec``)."""

RUNTIME_PARAMS: Final = frozenset({"idempotency_key", "principal"})
"""Keyword-only tool parameters the runtime fills (``leaves.RUNTIME_PARAMS``): optional in a call."""

TOOL_DECORATORS: Final = frozenset(
    {
        "composable_agents.authoring.leaves.tool",
        "composable_agents.authoring.leaves._ToolDecorator.__call__",
    }
)
PURE_DECORATORS: Final = frozenset(
    {
        "composable_agents.authoring.leaves.pure",
        "composable_agents.authoring.leaves._PureDecorator.__call__",
    }
)
"""``@tool(...)`` / ``@pure("name")``: a one-input body is never typed ``Any``. mypy applies no
signature hook to a bare decorator (``@tool``, ``@pure``), so those names are listed for direct calls."""

THINK: Final = "composable_agents.authoring.leaves.think"
REASONER: Final = "composable_agents.authoring.leaves.Reasoner"
NO_PROMPT: Final = "composable_agents.authoring.leaves.NoPrompt"
"""``think(r)``'s declared ends come from ``r``'s type (``NoPrompt`` means an ``Any`` input)."""

HUMAN_GATE: Final = "composable_agents.authoring.derived.HumanGate"
DECISION_GATE: Final = "composable_agents.authoring.derived.DecisionGate"
GATE_DECISION: Final = "composable_agents.authoring.derived.GateDecision"
"""``human_gate(...)`` markers: ``>>`` passes the neighbour's type through (no any-edge)."""

SWITCHES: Final = frozenset(
    {"composable_agents.authoring._flow_steps.switch", "composable_agents.authoring._flow_steps.switch_on"}
)
"""``@flow`` routing helpers whose result is the union of their typed arms (see ``_features/switch``)."""
