"""The one deterministic interpreter of the IR, shared by every backend.

``prepare`` compiles a frozen tree **once** into closures: shapes, pure
lookups, static args, validators, contracts and retry policies are resolved
ahead of time, so running a step costs about a microsecond. Subtrees without
effects (pures, ``ident`` and the structure around them) compile to plain
synchronous functions and never touch the event loop; only subtrees that
reach a tool, a reasoner or another effect become coroutines. Loops are
Python loops, so a 10^5-step ``seq`` needs no recursion.

Every effect goes through the injected :class:`~composable_agents.execution.env.Env`;
the interpreter reads no clock and draws no randomness, so the same artifact,
input and effect results give the same value and the same projection under
any scheduling.

Rejected alternative: a tree-walking ``eval(node, value)`` — re-dispatching on
the op and re-resolving pures on every step costs two to three orders of
magnitude more per step and recurses on long sequences.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Final

from composable_agents.core.canonical import Json, JsonObject, canonical_dumps
from composable_agents.core.codec import normalize
from composable_agents.core.ir import (
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
    PureRef,
    Seq,
    SubStep,
    ThinkStep,
)
from composable_agents.core.kinds import Merge, Op
from composable_agents.core.pures import DEFAULT_REGISTRY, Registry
from composable_agents.core.shapes import surface_shape
from composable_agents.errors import (
    StepTypeError,
    UnsupportedOpError,
)
from composable_agents.execution import _ops_effects, _ops_sched, agent_runtime
from composable_agents.execution._ops_effects import _failed, _raised, _type_error, split_usage
from composable_agents.execution.env import Env, InMemoryEnv
from composable_agents.execution.limits import (
    Ledger,
)
from composable_agents.execution.projection import NodeMeta, Recorder, activation_id

if TYPE_CHECKING:
    from composable_agents.authoring.leaves import Reasoner, ToolDef

__all__ = [
    "DEFAULT_READ_ATTEMPTS",
    "Catalog",
    "InMemoryEnv",
    "Program",
    "RunState",
    "interpret",
    "is_continuation",
    "prepare",
    "split_usage",
]

DEFAULT_READ_ATTEMPTS: Final = 3
"""Attempts a retry-safe call gets when its ``Ann`` sets none."""

_MERGE_ALL: Final = {"merge": "all"}
_MERGE_ALL_DEGRADED: Final = {"merge": "all", "degraded": True}

SyncFn = Callable[[Json, tuple[int, ...], "RunState"], Json]
AsyncFn = Callable[[Json, tuple[int, ...], "RunState"], Awaitable[Json]]
Compiled = tuple[bool, Any]  # (is_sync, fn)


@dataclass(frozen=True, slots=True)
class Catalog:
    """What a program may reach: pures, tool definitions, reasoners and sub-flows.

    ``execution_hashes`` maps tool keys to the execution hash frozen at deploy.
    """

    registry: Registry = DEFAULT_REGISTRY
    tools: Mapping[str, ToolDef] = field(default_factory=dict)
    reasoners: Mapping[str, Reasoner[Any, Any]] = field(default_factory=dict)
    subflows: Mapping[str, Node] = field(default_factory=dict)
    execution_hashes: Mapping[str, str] = field(default_factory=dict)

    def tool(self, key: str) -> ToolDef | None:
        """The tool definition for ``key`` (catalog first, then the registry)."""
        found = self.tools.get(key)
        return found if found is not None else self.registry.tools.get(key)

    def reasoner(self, name: str) -> Reasoner[Any, Any] | None:
        """The reasoner definition for ``name`` (catalog first, then the registry)."""
        found = self.reasoners.get(name)
        return found if found is not None else self.registry.reasoners.get(name)


class RunState:
    """Per-run state threaded through compiled steps (never shared between runs).

    Concurrent branches run on forks (:meth:`fork`): each has its own
    ``approved`` flag (an approving gate passed on *this* path) and its own
    ``ledger`` quota; everything else is shared. ``strict`` makes an
    approval-required tool refuse to run without an approval on its path (the
    default, and always on Temporal); off, it runs and the projection says
    ``approval_bypassed``. ``segment`` numbers continuation segments; it is
    part of every idempotency key after the first segment.

    ``cont`` is the continuation record the flow's own ``std.continue_with``
    step built last (see :func:`is_continuation`): a runner continues a run
    only when the final value *is* that object, so a ``{"__continue__": x}``
    from a tool, reasoner, controller or plan stays ordinary data.
    ``resume`` is an agent loop's continue-as-new state, set only by a
    durable runner that continued the run itself (never read from the input).
    """

    __slots__ = (
        "approved",
        "attempts",
        "backoff",
        "catalog",
        "check",
        "cont",
        "env",
        "interval",
        "key_prefix",
        "ledger",
        "principal",
        "programs",
        "rec",
        "resume",
        "run_id",
        "segment",
        "strict",
    )

    def __init__(
        self,
        env: Env,
        *,
        catalog: Catalog,
        run_id: str = "run",
        principal: Json = None,
        check: bool = True,
        recorder: Recorder | None = None,
        ledger: Ledger | None = None,
        strict: bool = True,
        segment: int = 0,
        read_attempts: int = DEFAULT_READ_ATTEMPTS,
        retry_interval_s: float = 1.0,
        backoff_rate: float = 2.0,
    ) -> None:
        self.env = env
        self.rec = recorder
        if recorder is not None and recorder.clock is None:
            recorder.clock = env.now  # events are timed on this run's Env clock (SPEC §20)
            if type(env) is InMemoryEnv:  # its `clock` attribute is its time: read it without a call
                recorder.clock_env = env
        self.run_id = run_id
        self.principal = principal
        self.check = check
        self.catalog = catalog
        self.programs: dict[str, Program] = {}
        self.ledger = ledger
        self.approved = False
        self.strict = strict
        self.segment = segment
        self.key_prefix = f"{run_id}:" if not segment else f"{run_id}:s{segment}:"
        self.attempts = read_attempts
        self.interval = retry_interval_s
        self.backoff = backoff_rate
        self.cont: Json = None
        self.resume: JsonObject | None = None

    def fork(self, ledger: Ledger | None) -> RunState:
        """A state for one concurrent branch: same run, own approvals, ``ledger`` as its quota."""
        new = object.__new__(RunState)
        for name in RunState.__slots__:
            object.__setattr__(new, name, getattr(self, name))
        new.ledger = ledger
        return new

    def next_segment(self) -> None:
        """Move to the next continuation segment (counters and ledger carry over)."""
        self.segment += 1
        self.key_prefix = f"{self.run_id}:s{self.segment}:"
        self.approved = False
        self.cont = None


def is_continuation(out: Json, state: RunState) -> bool:
    """True when ``out`` is the continuation record the flow's own ``std.continue_with`` built.

    Identity, not shape: only the object that step returned (and that flowed
    unchanged to the end of the segment) asks for a new segment (SPEC §22.1).
    """
    cont = state.cont
    return cont is not None and out is cont


def _as_async(fn: SyncFn) -> AsyncFn:
    async def run(v: Json, acts: tuple[int, ...], st: RunState) -> Json:
        return fn(v, acts, st)

    return run


class Program:
    """A frozen tree compiled to closures; run it with :meth:`run`."""

    __slots__ = (
        "_estimates",
        "_fn",
        "_pures",
        "_validators",
        "catalog",
        "is_sync",
        "metas",
        "node",
        "reasoners",
        "root_id",
        "subs",
        "tools",
        "trusted",
    )

    def __init__(
        self, node: Node, catalog: Catalog | None = None, *, root_id: str = "$", trusted: bool = True
    ) -> None:
        """Compile ``node``; ``trusted=False`` (a staged plan) makes its ``std.continue_with`` plain data."""
        self.node = normalize(node)
        self.catalog = catalog or Catalog()
        self.trusted = trusted
        self.metas: list[NodeMeta] = []
        self.reasoners: set[str] = set()
        self.tools: set[str] = set()
        self.subs: set[str] = set()
        self.root_id = root_id
        self._pures: dict[str, tuple[Callable[[Json], Json], Any, Any, Any, Any]] = {}
        self._estimates: dict[int, tuple[Node, Any]] = {}
        self._validators: dict[str, tuple[Any, Any]] = {}
        self.is_sync, self._fn = self._compile(self.node, root_id, None, None)

    # -- entry points -------------------------------------------------------

    async def run(self, value: Json, state: RunState) -> Json:
        """Run the program on ``value`` under ``state``."""
        if self.is_sync:
            return self._fn(value, (), state)
        return await self._fn(value, (), state)

    def run_sync(self, value: Json, state: RunState) -> Json:
        """Run an effect-free program without an event loop."""
        if not self.is_sync:
            msg = "this program has effects; use `await program.run(...)`"
            raise RuntimeError(msg)
        return self._fn(value, (), state)

    # -- compilation --------------------------------------------------------

    def _meta(
        self, node: Node, node_id: str, parent: NodeMeta | None, prev: NodeMeta | None, label: str
    ) -> NodeMeta:
        cost = node.ann.cost_usd if node.ann is not None else None
        meta = NodeMeta(
            index=len(self.metas),
            node_id=node_id,
            op=node.OP,
            shape=surface_shape(node),
            parent=parent,
            prev=prev,
            label=node.name or label,
            cost_usd=cost,
            facts=self._facts(node),
        )
        self.metas.append(meta)
        return meta

    def _facts(self, node: Node) -> JsonObject | None:
        """Static event fields of a leaf: the tool key, or the reasoner and its declared model."""
        if not isinstance(node, Prim):
            return None
        step = node.step
        if isinstance(step, CallStep):
            return None if step.tool.startswith("__") else {"tool": step.tool}
        if isinstance(step, ThinkStep):
            facts: JsonObject = {"reasoner": step.reasoner}
            model = getattr(self.catalog.reasoner(step.reasoner), "model", None)
            if isinstance(model, str) and model:
                provider, sep, name = model.partition(":")
                facts.update({"provider": provider, "model": name} if sep else {"model": model})
            return facts
        return None

    def _compile(
        self, node: Node, nid: str, parent: NodeMeta | None, prev: NodeMeta | None
    ) -> Compiled:
        first = len(self.metas)
        compiled = self._compile_op(node, nid, parent, prev)
        if len(self.metas) > first:
            # The node's own meta comes first: rank it after its whole subtree
            # (last descendant's index), and after deeper nodes sharing that index.
            depth = nid.count(".")
            object.__setattr__(self.metas[first], "order", (len(self.metas) - 1) * 4096 + (4095 - min(depth, 4095)))
        return compiled

    def _compile_op(
        self, node: Node, nid: str, parent: NodeMeta | None, prev: NodeMeta | None
    ) -> Compiled:
        kind = type(node)
        if kind is Arr:
            return self._arr(node, nid, parent, prev)  # type: ignore[arg-type]
        if kind is Seq:
            return self._seq(node, nid, parent, prev)  # type: ignore[arg-type]
        if kind is Prim:
            return self._prim(node, nid, parent, prev)  # type: ignore[arg-type]
        if kind is Par:
            return self._par(node, nid, parent, prev)  # type: ignore[arg-type]
        if kind is Each:
            return self._each(node, nid, parent, prev)  # type: ignore[arg-type]
        if kind is Alt:
            return self._alt(node, nid, parent, prev)  # type: ignore[arg-type]
        if kind is IterUpTo:
            return self._iter(node, nid, parent, prev)  # type: ignore[arg-type]
        if node.OP is Op.IDENT:
            return self._ident(node, nid, parent, prev)
        if kind is App:
            return agent_runtime.compile_app(self, node, nid, parent, prev)  # type: ignore[arg-type]
        if kind is EvalPlan:
            return agent_runtime.compile_eval_plan(self, node, nid, parent, prev)  # type: ignore[arg-type]
        msg = (
            f"the {node.OP} op at {nid} is not run by the flow interpreter: a session loop runs "
            "through Agent.open(...)/SessionHandle, which drives its body turn by turn"
        )
        raise UnsupportedOpError(msg)

    def _pure(self, ref: PureRef) -> tuple[Callable[[Json], Json], Any, Any, Any, Any]:
        key = ref._key()
        found = self._pures.get(key)
        if found is None:
            found = self._pures[key] = self._pure_uncached(ref)
        return found

    def _helper(self, ref: PureRef) -> Callable[[Json], Json]:
        """A control pure (reducer, predicate, selector, ``until``) with its typed boundaries checked.

        Untyped pures (``Any`` in and out) come back bare, so the common case
        costs nothing; a typed one raises :class:`StepTypeError` naming the pure.
        """
        call, vin, vout, cin, cout = self._pure(ref)
        if vin is None and vout is None and cin is None and cout is None:
            return call
        name = ref.name

        def checked(v: Json) -> Json:
            if vin is not None and not vin.is_valid(v):
                raise _type_error(name, vin, v)
            out = call(cin.from_json(v) if cin is not None else v)
            if cout is not None:
                out = cout.to_json(out)
            if vout is not None and not vout.is_valid(out):
                raise _type_error(name, vout, out)
            return out

        return checked

    def _pure_uncached(self, ref: PureRef) -> tuple[Callable[[Json], Json], Any, Any, Any, Any]:
        pdef = self.catalog.registry.pure(ref.name)
        fn: Callable[..., Json] = pdef.fn
        call = partial(fn, **ref.args) if ref.args else fn
        from composable_agents.core.schema import converter_for, is_any, validator_for

        vin = None if is_any(pdef.in_type) else validator_for(pdef.in_type)
        vout = None if is_any(pdef.out_type) else validator_for(pdef.out_type)
        cin = None if is_any(pdef.in_type) else converter_for(pdef.in_type)
        cout = None if is_any(pdef.out_type) else converter_for(pdef.out_type)
        return call, vin, vout, cin, cout

    def _ident(
        self, node: Node, nid: str, parent: NodeMeta | None, prev: NodeMeta | None
    ) -> Compiled:
        meta = self._meta(node, nid, parent, prev, "ident")

        def run(v: Json, acts: tuple[int, ...], st: RunState) -> Json:
            if st.rec is not None:
                st.rec.add(meta, acts, v, v)
            return v

        return True, run

    def _arr(self, node: Arr, nid: str, parent: NodeMeta | None, prev: NodeMeta | None) -> Compiled:
        meta = self._meta(node, nid, parent, prev, node.pure)
        call, vin, vout, cin, cout = self._pure(PureRef(node.pure, node.args))
        label = meta.label
        if node.pure == "std.continue_with" and self.trusted:

            def run_continue(v: Json, acts: tuple[int, ...], st: RunState) -> Json:
                out = call(v)
                st.cont = out  # the one record a runner will treat as a continuation
                rec = st.rec
                if rec is not None:
                    rec.add(meta, acts, v, out)
                return out

            return True, run_continue
        if vin is None and vout is None and cin is None and cout is None:

            def run(v: Json, acts: tuple[int, ...], st: RunState) -> Json:
                try:
                    out = call(v)
                except Exception as exc:
                    raise _raised(st, meta, acts, v, exc) from exc
                rec = st.rec
                if rec is not None:
                    rec.add(meta, acts, v, out)
                return out

            return True, run

        def run_checked(v: Json, acts: tuple[int, ...], st: RunState) -> Json:
            if st.check and vin is not None and not vin.is_valid(v):
                raise _failed(st, meta, acts, v, _type_error(label, vin, v))
            try:
                out = call(cin.from_json(v) if cin is not None else v)
            except Exception as exc:
                raise _raised(st, meta, acts, v, exc) from exc
            if cout is not None:
                out = cout.to_json(out)
            if st.check and vout is not None and not vout.is_valid(out):
                raise _failed(st, meta, acts, v, _type_error(label, vout, out))
            rec = st.rec
            if rec is not None:
                rec.add(meta, acts, v, out)
            return out

        return True, run_checked

    def _children(self, node: Node, nid: str, meta: NodeMeta, chain: bool) -> list[Compiled]:
        out: list[Compiled] = []
        prev: NodeMeta | None = None
        for i, kid in enumerate(node.children()):
            before = len(self.metas)
            out.append(self._compile(kid, f"{nid}.{i}", meta, prev if chain else None))
            prev = self.metas[before] if chain else None
        return out

    def _seq(self, node: Seq, nid: str, parent: NodeMeta | None, prev: NodeMeta | None) -> Compiled:
        meta = self._meta(node, nid, parent, prev, "seq")
        parts = self._children(node, nid, meta, chain=True)
        if all(is_sync for is_sync, _ in parts):
            fns = tuple(fn for _, fn in parts)

            def run(v: Json, acts: tuple[int, ...], st: RunState) -> Json:
                v0 = v
                for fn in fns:
                    v = fn(v, acts, st)
                if st.rec is not None:
                    st.rec.add(meta, acts, v0, v)
                return v

            return True, run
        # Group runs of sync steps so they cost no awaits.
        groups: list[tuple[bool, Any]] = []
        for is_sync, fn in parts:
            if is_sync and groups and groups[-1][0]:
                groups[-1][1].append(fn)
            elif is_sync:
                groups.append((True, [fn]))
            else:
                groups.append((False, fn))
        plan: tuple[tuple[bool, Any], ...] = tuple((s, tuple(f) if s else f) for s, f in groups)

        async def arun(v: Json, acts: tuple[int, ...], st: RunState) -> Json:
            v0 = v
            for is_sync, item in plan:
                if is_sync:
                    for fn in item:
                        v = fn(v, acts, st)
                else:
                    v = await item(v, acts, st)
            if st.rec is not None:
                st.rec.add(meta, acts, v0, v)
            return v

        return False, arun

    def _par(self, node: Par, nid: str, parent: NodeMeta | None, prev: NodeMeta | None) -> Compiled:
        if node.merge is not Merge.ALL:
            return _ops_sched.compile_race(self, node, nid, parent, prev)
        meta = self._meta(node, nid, parent, prev, "par")
        parts = self._children(node, nid, meta, chain=False)
        reducer = (
            self._helper(node.reducer) if node.reducer is not None else None
        )
        if all(is_sync for is_sync, _ in parts):
            fns = tuple(fn for _, fn in parts)

            def run(v: Json, acts: tuple[int, ...], st: RunState) -> Json:
                out: Json = [fn(v, acts, st) for fn in fns]
                if reducer is not None:
                    out = reducer(out)
                if st.rec is not None:
                    st.rec.add(meta, acts, v, out, _MERGE_ALL)
                return out

            return True, run
        afns = tuple(fn if not is_sync else _as_async(fn) for is_sync, fn in parts)
        sequential = any(_ops_sched.whole_session(kid) for kid in node.branches)
        ests = [_ops_sched.estimate(self, kid) for kid in node.branches]
        fork, join = _ops_sched.fork_states, _ops_sched.join_states

        async def arun(v: Json, acts: tuple[int, ...], st: RunState) -> Json:
            sts = fork(st, ests)
            try:
                if sequential:
                    out: Json = [await fn(v, acts, s) for fn, s in zip(afns, sts, strict=True)]
                else:
                    out = await st.env.gather(
                        [partial(fn, v, acts, s) for fn, s in zip(afns, sts, strict=True)]
                    )
            finally:
                join(st, sts)
            if reducer is not None:
                out = reducer(out)
            if st.rec is not None:
                st.rec.add(meta, acts, v, out, _MERGE_ALL_DEGRADED if sequential else _MERGE_ALL)
            return out

        return False, arun

    def _each(
        self, node: Each, nid: str, parent: NodeMeta | None, prev: NodeMeta | None
    ) -> Compiled:
        meta = self._meta(node, nid, parent, prev, "each")
        ((body_sync, body),) = self._children(node, nid, meta, chain=False)
        reducer = (
            self._helper(node.reducer) if node.reducer is not None else None
        )
        wave = node.max_parallel
        sequential = _ops_sched.whole_session(node.body)
        if sequential:
            wave = 1

        def need_list(v: Json, acts: tuple[int, ...]) -> list[Json]:
            if type(v) is list or type(v) is tuple:
                return v  # type: ignore[return-value]
            raise StepTypeError(f"each at {activation_id(nid, acts)}", "$", "a list", repr(v)[:80])

        if body_sync:

            def run(v: Json, acts: tuple[int, ...], st: RunState) -> Json:
                items = need_list(v, acts)
                out: Json = [body(x, (*acts, i), st) for i, x in enumerate(items)]
                if reducer is not None:
                    out = reducer(out)
                if st.rec is not None:
                    st.rec.add(meta, acts, v, out)
                return out

            return True, run

        body_est = _ops_sched.estimate(self, node.body)
        fork, join = _ops_sched.fork_states, _ops_sched.join_states

        async def arun(v: Json, acts: tuple[int, ...], st: RunState) -> Json:
            items = need_list(v, acts)
            size = wave or len(items) or 1
            out: list[Json] = []
            for start in range(0, len(items), size):
                chunk = items[start : start + size]
                sts = fork(st, [body_est] * len(chunk))
                thunks = [partial(body, x, (*acts, start + j), sts[j]) for j, x in enumerate(chunk)]
                try:
                    out.extend(await st.env.gather(thunks))
                finally:
                    join(st, sts)
            result: Json = reducer(out) if reducer is not None else out
            if st.rec is not None:
                st.rec.add(meta, acts, v, result, {"degraded": True} if sequential else None)
            return result

        return False, arun

    def _alt(self, node: Alt, nid: str, parent: NodeMeta | None, prev: NodeMeta | None) -> Compiled:
        meta = self._meta(node, nid, parent, prev, "alt")
        parts = self._children(node, nid, meta, chain=False)
        if node.pred is not None:
            decide = self._helper(node.pred)

            def pick(v: Json) -> int:
                flag = decide(v)
                if type(flag) is not bool:
                    msg = f"alt predicate {node.pred.name!r} at {nid} returned {flag!r}, not a boolean"  # type: ignore[union-attr]
                    raise TypeError(msg)
                return 0 if flag else 1

        else:
            assert node.selector is not None and node.cases is not None
            select = self._helper(node.selector)
            index = {canonical_dumps(c): i for i, c in reversed(list(enumerate(node.cases)))}
            default = len(node.cases)

            def pick(v: Json) -> int:
                return int(index.get(canonical_dumps(select(v)), default))

        if all(is_sync for is_sync, _ in parts):
            fns = tuple(fn for _, fn in parts)

            def run(v: Json, acts: tuple[int, ...], st: RunState) -> Json:
                try:
                    chosen = pick(v)
                except Exception as exc:
                    raise _raised(st, meta, acts, v, exc) from exc
                out = fns[chosen](v, acts, st)
                if st.rec is not None:
                    st.rec.add(meta, acts, v, out, {"branch": chosen})
                return out

            return True, run
        afns = tuple(fn if not is_sync else _as_async(fn) for is_sync, fn in parts)

        async def arun(v: Json, acts: tuple[int, ...], st: RunState) -> Json:
            try:
                chosen = pick(v)
            except Exception as exc:
                raise _raised(st, meta, acts, v, exc) from exc
            out = await afns[chosen](v, acts, st)
            if st.rec is not None:
                st.rec.add(meta, acts, v, out, {"branch": chosen})
            return out

        return False, arun

    def _iter(
        self, node: IterUpTo, nid: str, parent: NodeMeta | None, prev: NodeMeta | None
    ) -> Compiled:
        meta = self._meta(node, nid, parent, prev, "iter_up_to")
        ((body_sync, body),) = self._children(node, nid, meta, chain=False)
        until = self._helper(node.until) if node.until is not None else None
        rounds = node.max_rounds

        def stop(v: Json) -> bool:
            if until is None:
                return False
            flag = until(v)
            if type(flag) is not bool:
                msg = f"iter_up_to `until` at {nid} returned {flag!r}, not a boolean"
                raise TypeError(msg)
            return flag

        if body_sync:

            def run(v: Json, acts: tuple[int, ...], st: RunState) -> Json:
                v0 = v
                done = 0
                for r in range(rounds):
                    v = body(v, (*acts, r), st)
                    done = r + 1
                    if stop(v):
                        break
                if st.rec is not None:
                    st.rec.add(meta, acts, v0, v, {"rounds": done})
                return v

            return True, run

        async def arun(v: Json, acts: tuple[int, ...], st: RunState) -> Json:
            v0 = v
            done = 0
            for r in range(rounds):
                v = await body(v, (*acts, r), st)
                done = r + 1
                if stop(v):
                    break
            if st.rec is not None:
                st.rec.add(meta, acts, v0, v, {"rounds": done})
            return v

        return False, arun

    def _prim(
        self, node: Prim, nid: str, parent: NodeMeta | None, prev: NodeMeta | None
    ) -> Compiled:
        step = node.step
        if isinstance(step, CallStep):
            return _ops_effects.compile_call(self, node, step, nid, parent, prev)
        if isinstance(step, ThinkStep):
            return _ops_effects.compile_think(self, node, step, nid, parent, prev)
        assert isinstance(step, SubStep)
        return _ops_effects.compile_sub(self, node, step, nid, parent, prev)

def prepare(node: Node, catalog: Catalog | None = None) -> Program:
    """Compile ``node`` (normalized) into a :class:`Program`."""
    return Program(node, catalog)


async def interpret(
    node: Node,
    value: Json,
    env: Env,
    *,
    catalog: Catalog | None = None,
    run_id: str = "run",
    principal: Json = None,
    check_types: bool = True,
    recorder: Recorder | None = None,
    ledger: Ledger | None = None,
    strict: bool = True,
    resume: JsonObject | None = None,
) -> Json:
    """Run ``node`` on ``value`` with effects from ``env``; returns the output value.

    ``ledger`` applies ``maxCalls``/budget limits; ``strict`` (the default)
    refuses approval-required tools that no approving gate precedes;
    ``resume`` is the loop state an :class:`~composable_agents.errors.AgentContinue`
    carried (``state["__agent_resume__"]``): a runner's own hand-off, never
    read from ``value``.
    """
    program = prepare(node, catalog)
    state = RunState(
        env,
        catalog=program.catalog,
        run_id=run_id,
        principal=principal,
        check=check_types,
        recorder=recorder,
        ledger=ledger,
        strict=strict,
    )
    state.resume = resume
    return await program.run(value, state)
