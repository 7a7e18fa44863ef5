"""The IR: immutable, slotted node types and their annotations.

A flow is a finite tree of :class:`Node` values. Authoring surfaces build
trees freely (``>>`` nests binary ``Seq`` nodes, shared sub-trees are fine);
:func:`composable_agents.core.normalize.normalize` turns any tree into its
normal form (n-ary flattened ``seq``, no ``ident`` inside a ``seq``), and the
codec (:mod:`composable_agents.core.codec`) writes the normal form as
canonical JSON with positional ids (``$``, ``$.0``, ``$.1.2``).

Design choices:

* Nodes carry **no id**. Ids are positions, derived when a tree is encoded or
  walked; storing them would force a rebuild whenever a tree is embedded in a
  larger one, and would make ``a >> b`` cost O(size).
* Equality and hashing are **by content**: two nodes are equal iff their
  normal forms encode to the same canonical JSON (sha256 digest, computed once
  per node object and cached). Python's salted ``hash()`` never decides
  identity, and no comparison recurses (a 10^5-deep chain compares fine).
* ``src`` (where the user wrote the node) rides along for diagnostics but is
  not part of the content.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Final

from composable_agents.core.canonical import Json, JsonObject, canonical_dumps, copy_json
from composable_agents.core.kinds import ContextScope, Effect, Merge, Op, Shape

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "IR_FORMAT_VERSION",
    "RESERVED_TOOLS",
    "Alt",
    "Ann",
    "App",
    "Arr",
    "CallStep",
    "ContextPolicy",
    "Contract",
    "Each",
    "EvalPlan",
    "Ident",
    "IterUpTo",
    "Loop",
    "Node",
    "Par",
    "Prim",
    "PureRef",
    "Seq",
    "SourceLoc",
    "Step",
    "SubStep",
    "ThinkStep",
]

IR_FORMAT_VERSION: Final = "ca-ir/1"
"""Version of the wire format; part of every artifact hash (not the package version)."""

RESERVED_TOOLS: Final = frozenset({"__human_gate__", "__sleep__", "__recv__", "__emit__"})
"""Native tools the runtime provides itself; they need no grant."""


@dataclass(frozen=True, slots=True)
class SourceLoc:
    """Where a node was written: file, line and the source expression."""

    file: str
    line: int
    expr: str = ""

    def render(self) -> str:
        """``file:line  (expr)`` as diagnostics print it."""
        return f"{self.file}:{self.line}" + (f"  ({self.expr})" if self.expr else "")


@dataclass(frozen=True, slots=True, kw_only=True)
class Ann:
    """Per-node annotations. Unset fields are absent from the wire form.

    ``cost_usd`` is the static cost estimate; ``timeout_s`` bounds one attempt;
    ``max_attempts``, ``retry_interval_s`` and ``backoff_rate`` shape retries;
    ``cache`` is an advisory caching hint; ``effect`` overrides a leaf's effect.
    """

    cost_usd: float | None = None
    timeout_s: float | None = None
    max_attempts: int | None = None
    retry_interval_s: float | None = None
    backoff_rate: float | None = None
    cache: str | bool | None = None
    effect: Effect | None = None

    _WIRE: ClassVar[tuple[tuple[str, str], ...]] = (
        ("cost_usd", "costUsd"),
        ("timeout_s", "timeoutS"),
        ("max_attempts", "maxAttempts"),
        ("retry_interval_s", "retryIntervalS"),
        ("backoff_rate", "backoffRate"),
        ("cache", "cache"),
        ("effect", "effect"),
    )

    def to_json(self) -> JsonObject:
        """The wire form: camelCase keys, unset keys absent."""
        out: JsonObject = {}
        for attr, key in self._WIRE:
            value = getattr(self, attr)
            if value is not None:
                out[key] = str(value) if attr == "effect" else value
        return out

    def is_empty(self) -> bool:
        """True when no field is set."""
        return not self.to_json()

    def merged(self, other: Ann | None) -> Ann:
        """A copy where every field set on ``other`` wins."""
        if other is None:
            return self
        values = {attr: getattr(self, attr) for attr, _ in self._WIRE}
        for attr, _ in self._WIRE:
            value = getattr(other, attr)
            if value is not None:
                values[attr] = value
        return Ann(**values)


@dataclass(frozen=True, slots=True, kw_only=True)
class ContextPolicy:
    """What memory a leaf reads (the ``ctx=`` of leaves).

    ``scope`` must be granted by the capability manifest's ``memory`` section;
    ``WHOLE_SESSION`` inside a ``par`` makes the branches run one at a time.
    """

    scope: ContextScope = ContextScope.LOCAL
    max_tokens: int | None = None

    def to_json(self) -> JsonObject:
        """The wire form."""
        out: JsonObject = {"scope": str(self.scope)}
        if self.max_tokens is not None:
            out["maxTokens"] = self.max_tokens
        return out


@dataclass(frozen=True, slots=True)
class Contract:
    """What a ``sub`` promises across the firewall: its closed shape.

    ``Contract.of(Shape.FEEDBACK)`` or ``Contract.agent()``.
    """

    shape: Shape = Shape.PIPELINE

    @classmethod
    def of(cls, shape: Shape | str) -> Contract:
        """A contract promising at most ``shape``."""
        return cls(Shape(shape))

    @classmethod
    def agent(cls) -> Contract:
        """A contract for an agent-shaped child (the top of the lattice)."""
        return cls(Shape.AGENT)

    def to_json(self) -> JsonObject:
        """The wire form."""
        return {"shape": str(self.shape)}


def _clone(value: Any) -> Any:
    """A fresh copy of a checked JSON value, so wire documents never alias a node's state.

    Mutating a document returned by ``to_json()`` must not change the
    (immutable, digest-cached) node it came from.
    """
    kind = type(value)
    if kind is dict:
        return {key: _clone(item) for key, item in value.items()}
    if kind is list:
        return [_clone(item) for item in value]
    return value


def _frozen_args(args: Mapping[str, Any] | None) -> JsonObject | None:
    if args is None:
        return None
    return dict(copy_json(dict(args)))


@dataclass(frozen=True, slots=True, eq=False)
class PureRef:
    """A registered pure by name with optional static keyword ``args``."""

    name: str
    args: JsonObject | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "args", _frozen_args(self.args))

    def to_json(self) -> JsonObject:
        """The wire form ``{"pure": name, "args": {...}}`` (args absent if none)."""
        out: JsonObject = {"pure": self.name}
        if self.args is not None:
            out["args"] = _clone(self.args)
        return out

    def _key(self) -> str:
        return canonical_dumps(self.to_json(), checked=True)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PureRef) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())


@dataclass(frozen=True, slots=True, eq=False)
class CallStep:
    """Call the tool whose key is ``tool``; ``bind`` is its execution hash once frozen.

    ``args`` is static configuration for the reserved tools (a gate's prompt,
    a sleep's seconds, a channel name); ordinary tools take none.
    """

    tool: str
    bind: str | None = None
    args: JsonObject | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "args", _frozen_args(self.args))

    def to_json(self) -> JsonObject:
        """The wire form."""
        out: JsonObject = {"kind": "call", "tool": self.tool}
        if self.bind is not None:
            out["bind"] = self.bind
        if self.args is not None:
            out["args"] = _clone(self.args)
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CallStep) and self.to_json() == other.to_json()

    def __hash__(self) -> int:
        return hash(canonical_dumps(self.to_json(), checked=True))


@dataclass(frozen=True, slots=True)
class ThinkStep:
    """Invoke the reasoner named ``reasoner``."""

    reasoner: str

    def to_json(self) -> JsonObject:
        """The wire form."""
        return {"kind": "think", "reasoner": self.reasoner}


@dataclass(frozen=True, slots=True)
class SubStep:
    """Run the named flow ``ref`` as an opaque child under ``contract``."""

    ref: str
    contract: Contract = Contract()

    def to_json(self) -> JsonObject:
        """The wire form."""
        return {"kind": "sub", "ref": self.ref, "contract": self.contract.to_json()}


Step = CallStep | ThinkStep | SubStep


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Node:
    """Base of every IR node. Equality and hashing are by content (see module doc)."""

    OP: ClassVar[Op]
    FLOOR: ClassVar[Shape] = Shape.PIPELINE

    ann: Ann | None = None
    ctx: ContextPolicy | None = None
    name: str | None = None
    src: SourceLoc | None = field(default=None, repr=False)
    _memo: dict[str, Any] = field(default_factory=dict, init=False, repr=False)

    @property
    def op(self) -> Op:
        """This node's op."""
        return self.OP

    def children(self) -> tuple[Node, ...]:
        """Child nodes in id order (child ``i`` has id ``<parent>.i``)."""
        return ()

    def with_children(self, children: Sequence[Node]) -> Node:
        """A copy of this node with ``children`` replacing its children."""
        del children
        return self

    def fields_json(self) -> JsonObject:
        """The op-specific wire fields, children excluded."""
        return {}

    def is_plain(self) -> bool:
        """True when no annotation, context or name is set (such seq/ident may vanish).

        An ``Ann()`` with no field set counts as unset: it is absent from the
        wire form, so it must not change the normal form either.
        """
        return (self.ann is None or self.ann.is_empty()) and self.ctx is None and self.name is None

    # -- content identity ---------------------------------------------------

    def digest(self) -> str:
        """``sha256:`` hash of the canonical JSON of this node's normal form."""
        memo = self._memo
        cached = memo.get("digest")
        if cached is None:
            from composable_agents.core.canonical import hash_bytes
            from composable_agents.core.codec import encode_canonical

            cached = hash_bytes(encode_canonical(self).encode("utf-8"))
            memo["digest"] = cached
        return str(cached)

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, Node):
            return NotImplemented
        return self.digest() == other.digest()

    def __hash__(self) -> int:
        return hash(self.digest())

    # -- codec conveniences ---------------------------------------------------

    def to_json(self, *, root_id: str = "$") -> JsonObject:
        """The normal form as a JSON object with positional ids from ``root_id``."""
        from composable_agents.core.codec import encode

        return encode(self, root_id=root_id)

    @classmethod
    def from_json(cls, doc: Json | str | bytes) -> Node:
        """Decode IR JSON (a document, text or bytes); ids are optional.

        Raises :class:`~composable_agents.errors.IRDecodeError` with the JSON
        path of the fault on any malformed input.
        """
        from composable_agents.core.codec import decode

        return decode(doc)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Prim(Node):
    """A leaf step: a tool call, a reasoner invocation or an opaque sub-flow."""

    OP: ClassVar[Op] = Op.PRIM
    step: Step

    def fields_json(self) -> JsonObject:
        return {"step": self.step.to_json()}


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Ident(Node):
    """Pass the value through unchanged."""

    OP: ClassVar[Op] = Op.IDENT


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Arr(Node):
    """Apply the registered pure ``pure`` with static keyword ``args``."""

    OP: ClassVar[Op] = Op.ARR
    pure: str
    args: JsonObject | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "args", _frozen_args(self.args))

    def fields_json(self) -> JsonObject:
        out: JsonObject = {"pure": self.pure}
        if self.args is not None:
            out["args"] = _clone(self.args)
        return out


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Seq(Node):
    """Run ``steps`` in order, threading each output into the next input."""

    OP: ClassVar[Op] = Op.SEQ
    steps: tuple[Node, ...]

    def children(self) -> tuple[Node, ...]:
        return self.steps

    def with_children(self, children: Sequence[Node]) -> Node:
        return _replace(self, steps=tuple(children))


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Par(Node):
    """Run ``branches`` on the same input; settle per ``merge``.

    ``all``: every branch, results in branch order. ``race``/``hedge``/``quorum``
    settle on success (``k`` successes for quorum; ``hedge_ms`` between hedge
    starts); ``reducer`` optionally folds the settled list.
    """

    OP: ClassVar[Op] = Op.PAR
    FLOOR: ClassVar[Shape] = Shape.DATAFLOW
    branches: tuple[Node, ...]
    merge: Merge = Merge.ALL
    k: int | None = None
    hedge_ms: int | None = None
    reducer: PureRef | None = None

    def children(self) -> tuple[Node, ...]:
        return self.branches

    def with_children(self, children: Sequence[Node]) -> Node:
        return _replace(self, branches=tuple(children))

    def fields_json(self) -> JsonObject:
        out: JsonObject = {"merge": str(self.merge)}
        if self.k is not None:
            out["k"] = self.k
        if self.hedge_ms is not None:
            out["hedgeMs"] = self.hedge_ms
        if self.reducer is not None:
            out["reducer"] = self.reducer.to_json()
        return out


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Each(Node):
    """Run ``body`` once per item of the input list, in waves of ``max_parallel``."""

    OP: ClassVar[Op] = Op.EACH
    FLOOR: ClassVar[Shape] = Shape.DATAFLOW
    body: Node
    max_parallel: int | None = None
    reducer: PureRef | None = None

    def children(self) -> tuple[Node, ...]:
        return (self.body,)

    def with_children(self, children: Sequence[Node]) -> Node:
        (body,) = children
        return _replace(self, body=body)

    def fields_json(self) -> JsonObject:
        out: JsonObject = {}
        if self.max_parallel is not None:
            out["maxParallel"] = self.max_parallel
        if self.reducer is not None:
            out["reducer"] = self.reducer.to_json()
        return out


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Alt(Node):
    """Choose exactly one branch.

    Binary form: ``pred`` (a pure returning a bool) and ``branches == (then,
    orelse)``. Switch form: ``selector`` (a pure returning a JSON value),
    ``cases`` (one JSON value per case) and ``branches`` = one per case plus the
    default last.
    """

    OP: ClassVar[Op] = Op.ALT
    FLOOR: ClassVar[Shape] = Shape.BRANCHING
    branches: tuple[Node, ...]
    pred: PureRef | None = None
    selector: PureRef | None = None
    cases: tuple[Json, ...] | None = None

    def __post_init__(self) -> None:
        if self.cases is not None:
            object.__setattr__(self, "cases", tuple(copy_json(list(self.cases))))

    def children(self) -> tuple[Node, ...]:
        return self.branches

    def with_children(self, children: Sequence[Node]) -> Node:
        return _replace(self, branches=tuple(children))

    def fields_json(self) -> JsonObject:
        out: JsonObject = {}
        if self.pred is not None:
            out["pred"] = self.pred.to_json()
        if self.selector is not None:
            out["selector"] = self.selector.to_json()
        if self.cases is not None:
            out["cases"] = [_clone(case) for case in self.cases]
        return out


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class IterUpTo(Node):
    """Feed ``body``'s output back in, at most ``max_rounds`` times or until ``until``."""

    OP: ClassVar[Op] = Op.ITER_UP_TO
    FLOOR: ClassVar[Shape] = Shape.FEEDBACK
    body: Node
    max_rounds: int
    until: PureRef | None = None

    def children(self) -> tuple[Node, ...]:
        return (self.body,)

    def with_children(self, children: Sequence[Node]) -> Node:
        (body,) = children
        return _replace(self, body=body)

    def fields_json(self) -> JsonObject:
        out: JsonObject = {"max": self.max_rounds}
        if self.until is not None:
            out["until"] = self.until.to_json()
        return out


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class EvalPlan(Node):
    """``stage``: the reasoner ``planner`` emits a plan (IR JSON) that is admitted, then run."""

    OP: ClassVar[Op] = Op.EVAL_PLAN
    FLOOR: ClassVar[Shape] = Shape.STAGED
    planner: str

    def fields_json(self) -> JsonObject:
        return {"planner": self.planner}


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class App(Node):
    """The bounded agent loop: ``controller`` picks one action per round."""

    OP: ClassVar[Op] = Op.APP
    FLOOR: ClassVar[Shape] = Shape.AGENT
    controller: str
    tools: tuple[str, ...] = ()
    subflows: tuple[str, ...] = ()
    budget: JsonObject | None = None
    max_rounds: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "budget", _frozen_args(self.budget))

    def fields_json(self) -> JsonObject:
        out: JsonObject = {
            "controller": self.controller,
            "tools": list(self.tools),
            "subflows": list(self.subflows),
        }
        if self.budget is not None:
            out["budget"] = _clone(self.budget)
        if self.max_rounds is not None:
            out["maxRounds"] = self.max_rounds
        return out


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Loop(Node):
    """A session root: run ``body`` once per received message, threading a carrier."""

    OP: ClassVar[Op] = Op.LOOP
    FLOOR: ClassVar[Shape] = Shape.FEEDBACK
    body: Node
    init: Json = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "init", copy_json(self.init))

    def children(self) -> tuple[Node, ...]:
        return (self.body,)

    def with_children(self, children: Sequence[Node]) -> Node:
        (body,) = children
        return _replace(self, body=body)

    def fields_json(self) -> JsonObject:
        return {"init": _clone(self.init)}


def _replace(node: Node, **changes: Any) -> Node:
    """``dataclasses.replace`` that keeps ``src`` and starts with an empty memo."""
    import dataclasses

    return dataclasses.replace(node, **changes)


NODE_TYPES: Final[dict[Op, type[Node]]] = {
    cls.OP: cls for cls in (Prim, Ident, Arr, Seq, Par, Each, Alt, IterUpTo, EvalPlan, App, Loop)
}
