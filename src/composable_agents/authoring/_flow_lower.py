"""``@flow`` internals: effects (ordering barriers) and lowering a traced graph to IR.

See :mod:`composable_agents.authoring.flow` and ``docs/authoring.md`` for the rules.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from composable_agents.authoring._flow_trace import Args, _Step, _Trace
from composable_agents.core.ir import Arr, CallStep, Ident, Node, Par, Prim, Seq, SubStep
from composable_agents.core.kinds import Effect

if TYPE_CHECKING:
    from composable_agents.core.pures import Registry

__all__: list[str] = []

_SLEEP: Final = "__sleep__"

# -- effects: what is an ordering barrier ---------------------------------------------

_BARRIER_EFFECTS: Final = frozenset({Effect.WRITE, Effect.EXTERNAL, Effect.DANGEROUS})


def _tool_is_barrier(key: str, registry: Registry | None = None) -> bool:
    if key == _SLEEP:
        return True
    if key.startswith("__"):
        return True
    from composable_agents.core.pures import DEFAULT_REGISTRY

    definition = (registry or DEFAULT_REGISTRY).tools.get(key)
    if definition is None:
        return True  # unknown tools are assumed to change the world
    return definition.contract.effect in _BARRIER_EFFECTS


def _has_barrier(node: Node) -> bool:
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Prim):
            if isinstance(n.step, SubStep):
                return True
            if isinstance(n.step, CallStep) and _tool_is_barrier(n.step.tool):
                return True
        stack.extend(n.children())
    return False


def _has_effect(node: Node) -> bool:
    """True when ``node`` calls a tool, a reasoner or a sub-flow anywhere inside."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Prim):
            return True
        stack.extend(n.children())
    return False


# -- lowering ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Unit:
    """A fused chain of steps: scheduled as one branch."""

    args: Args
    ops: list[Node]
    barrier: bool
    out: int
    first: int
    last: int
    anchor: int
    level: int = 0


def _inputs(args: Args) -> list[int]:
    kind, payload = args
    if kind == "ref":
        return [payload]
    if kind == "list":
        return list(payload)
    return [vid for _, vid in payload]


def _seq(nodes: Sequence[Node]) -> Node:
    kept = [n for n in nodes if not (isinstance(n, Ident) and n.is_plain())]
    if not kept:
        return Ident()
    if len(kept) == 1:
        return kept[0]
    return Seq(steps=tuple(kept))


class _Lowering:
    """Lower a traced graph to IR (see the module docstring for the rules)."""

    def __init__(self, trace: _Trace, output: int, extra: _Step | None) -> None:
        self.trace = trace
        self.output = output
        steps = list(trace.steps)
        if extra is not None:
            steps.append(extra)
        self.steps = steps
        self.names: dict[int, str] = {}

    def name(self, vid: int) -> str:
        found = self.names.get(vid)
        if found is None:
            var = self.trace.param_names.get(vid) or self.trace.names.get(vid)
            found = var if var and not var.startswith("__") and var not in self.names.values() else f"v{vid}"
            while found in self.names.values():
                found = f"{found}_{vid}"
            self.names[vid] = found
        return found

    def units(self) -> list[_Unit]:
        uses: dict[int, int] = {}
        for st in self.steps:
            for vid in _inputs(st.args):
                uses[vid] = uses.get(vid, 0) + 1
        uses[self.output] = uses.get(self.output, 0) + 1
        barrier_idx = [st.index for st in self.steps if st.barrier]
        by_out: dict[int, _Unit] = {}
        units: list[_Unit] = []
        for st in self.steps:
            kind, payload = st.args
            prev = by_out.get(payload) if kind == "ref" else None
            if prev is not None and uses.get(payload) == 1:
                between = any(prev.last < b < st.index for b in barrier_idx)
                if not between and not (prev.barrier and st.barrier):
                    prev.ops.extend(st.ops)
                    del by_out[prev.out]
                    prev.out = st.out
                    if st.barrier:
                        prev.barrier = True
                        prev.anchor = st.index
                    prev.last = st.index
                    by_out[st.out] = prev
                    continue
            unit = _Unit(st.args, list(st.ops), st.barrier, st.out, st.index, st.index, st.index)
            units.append(unit)
            by_out[st.out] = unit
        return units

    def lower(self) -> Node:
        units = self.units()
        level_of: dict[int, int] = {vid: 0 for vid in self.trace.params}
        last_barrier = 0
        highest = 0  # the highest level of an effectful unit so far
        top = 0
        for u in sorted(units, key=lambda u: u.anchor):
            dep = max((level_of.get(v, 0) for v in _inputs(u.args)), default=0)
            if u.barrier:
                u.level = max(dep, highest) + 1
                last_barrier = u.level
            elif any(_has_effect(n) for n in u.ops):
                u.level = max(dep, last_barrier) + 1
            else:  # pure plumbing observes no world state: only its inputs order it
                u.level = dep + 1
            if u.barrier or any(_has_effect(n) for n in u.ops):
                highest = max(highest, u.level)
            top = max(top, u.level)
            level_of[u.out] = u.level
        waves: dict[int, list[_Unit]] = {}
        for u in units:
            waves.setdefault(u.level, []).append(u)
        for wave in waves.values():
            wave.sort(key=lambda u: u.anchor)
        # last level at which each value is consumed
        last_use: dict[int, int] = {}
        for u in units:
            for v in _inputs(u.args):
                last_use[v] = max(last_use.get(v, 0), u.level)
        last_use[self.output] = top + 1
        consumers: dict[int, list[_Unit]] = {}
        for u in units:
            for v in _inputs(u.args):
                consumers.setdefault(v, []).append(u)

        # the initial representation
        rep: tuple[str, Any]
        if len(self.trace.params) == 1:
            rep = ("single", self.trace.params[0])
        else:
            rep = ("env", {vid: self.trace.param_names[vid] for vid in self.trace.params})
            for vid in self.trace.params:
                self.names[vid] = self.trace.param_names[vid]
        available = list(self.trace.params)
        parts: list[Node] = []
        for level in range(1, top + 1):
            wave = waves.get(level, [])
            if not wave:
                continue
            live_after = [v for v in [*available, *(u.out for u in wave)] if last_use.get(v, 0) > level]
            keep = [v for v in available if v in live_after]
            nxt = waves.get(level + 1, [])
            node, rep = self.wave(rep, wave, keep, live_after, nxt, consumers, level)
            parts.append(node)
            available = live_after
        parts.extend(self.finish(rep))
        return _seq(parts)

    def finish(self, rep: tuple[str, Any]) -> list[Node]:
        kind, payload = rep
        if kind == "single":
            assert payload == self.output
            return []
        assert kind == "env"
        return [Arr(pure="std.pluck", args={"key": payload[self.output]})]

    def extract(self, rep: tuple[str, Any], args: Args) -> list[Node]:
        kind, payload = args
        rkind, rpay = rep
        if rkind == "list":
            assert kind == "list" and tuple(payload) == tuple(rpay)
            return []
        if kind == "ref":
            if rkind == "single":
                assert rpay == payload
                return []
            return [Arr(pure="std.pluck", args={"key": rpay[payload]})]
        if kind == "list":
            return [Par(branches=tuple(_seq(self.extract(rep, ("ref", v))) for v in payload))]
        pairs: tuple[tuple[str, int], ...] = payload
        if rkind == "single":
            if len(pairs) == 1:
                return [Arr(pure="std.init", args={"key": pairs[0][0]})]
            return [Arr(pure="std.pack", args={"fields": {k: {"input": True} for k, _ in pairs}})]
        env: dict[int, str] = rpay
        mapping = {k: env[v] for k, v in pairs}
        if all(k == old for k, old in mapping.items()) and set(env.values()) == set(mapping):
            return []
        return [Arr(pure="std.unpack", args={"fields": mapping})]

    def branch(self, rep: tuple[str, Any], u: _Unit) -> Node:
        first = u.ops[0] if u.ops else None
        if (rep[0] == "env" and u.args[0] == "list" and isinstance(first, Arr) and first.pure == "std.merge"
                and first.args is None):
            # merge two fields of the env record directly: std.merge(fields=[a, b])
            env: dict[int, str] = rep[1]
            merged = dataclasses.replace(first, args={"fields": [env[v] for v in u.args[1]]})
            return _seq([merged, *u.ops[1:]])
        return _seq([*self.extract(rep, u.args), *u.ops])

    def wave(
        self,
        rep: tuple[str, Any],
        wave: list[_Unit],
        keep: list[int],
        live_after: list[int],
        nxt: list[_Unit],
        consumers: dict[int, list[_Unit]],
        level: int,
    ) -> tuple[Node, tuple[str, Any]]:
        outs = [u.out for u in wave]
        if len(wave) == 1 and not keep:
            return self.branch(rep, wave[0]), ("single", wave[0].out)

        def only_next(values: Sequence[int], target: _Unit) -> bool:
            return all(all(c is target for c in consumers.get(v, []) if c.level > level) and v != self.output
                       for v in values)

        # list representation: the next wave is one step consuming exactly this list
        if len(nxt) == 1 and nxt[0].args[0] == "list":
            refs = list(nxt[0].args[1])
            if (set(refs) == set(live_after) and set(outs) <= set(refs)
                    and all(refs.count(o) == 1 for o in outs) and only_next(refs, nxt[0])):
                branches = []
                by_out = {u.out: u for u in wave}
                for r in refs:
                    branches.append(self.branch(rep, by_out[r]) if r in by_out else _seq(self.extract(rep, ("ref", r))))
                return Par(branches=tuple(branches)), ("list", tuple(refs))

        # env representation; name fields after the next step's record parameters when that makes it free
        keys: dict[int, str] = {}
        if len(nxt) == 1 and nxt[0].args[0] == "rec":
            pairs = nxt[0].args[1]
            vids = [v for _, v in pairs]
            if (len(set(vids)) == len(vids) and set(vids) == set(live_after) and set(outs) <= set(vids)
                    and only_next(vids, nxt[0])):
                keys = {v: k for k, v in pairs}
        for v in [*keep, *outs]:
            if v not in keys:
                keys[v] = self.name(v)
        if len(set(keys.values())) != len(keys):
            keys = {v: self.name(v) for v in [*keep, *outs]}
        branches = [self.branch(rep, u) for u in wave]
        fields = [keys[o] for o in outs]
        if keep:
            rkind, rpay = rep
            if rkind == "single":
                keeper: Node = Arr(pure="std.init", args={"key": keys[rpay]})
            else:
                mapping = {keys[v]: rpay[v] for v in keep}
                if all(k == old for k, old in mapping.items()) and set(rpay.values()) == set(mapping):
                    keeper = Ident()
                else:
                    keeper = Arr(pure="std.unpack", args={"fields": mapping})
            node: Node = Seq(steps=(Par(branches=(keeper, *branches)),
                                    Arr(pure="std.collect", args={"fields": fields})))
        else:
            first = _seq([branches[0], Arr(pure="std.init", args={"key": fields[0]})])
            if len(branches) == 1:
                node = first
            else:
                node = Seq(steps=(Par(branches=(first, *branches[1:])),
                                  Arr(pure="std.collect", args={"fields": fields[1:]})))
        return node, ("env", {v: keys[v] for v in [*keep, *outs]})
