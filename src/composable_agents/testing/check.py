"""``check_flow``: hypothesis drives a deployment's inputs and model replies and checks SPEC §21's invariants.

Each example draws an input, then runs the deployment locally (``dry_run``)
with every reasoner that has no fake answered from a strategy: plain
reasoners from :func:`~composable_agents.testing.strategies.replies` /
:func:`~composable_agents.testing.strategies.bad_replies`, agent controllers
from :func:`~composable_agents.testing.strategies.actions`, stage planners
from :func:`~composable_agents.testing.strategies.plans`. Replies are drawn
lazily (an agent's round count is not known up front) and memoized by
``(reasoner, prompt)``, so a reasoner is a function of what it is asked: the
replay under another scheduler seed gets the same answers whatever order the
branches ask in. Every tool body (fake or real) runs behind a spy that
records which tool ran, at which activation, and whether an approving gate
had answered before it.

The invariants, checked on every run:

1. the status is one of §14's and nothing escaped ``dry_run``;
2. a run with no off-schema reply did not fail (a failure there is the
   user's code breaking on a reply the schema allows); a ``StepTypeError``
   is still the boundary's job when a generated controller or plan, or the
   reply of a reasoner without a reply type (unchecked: the flow's own
   ``as_type``/``expect`` is its boundary), fed it; with the user's own
   controller, ``max_rounds``/``controller_error`` on valid replies is a
   loop that does not converge;
3. no tool body ran that the deployment does not grant, and no
   approval-required body ran without an approving gate before it;
4. the capability budget (cost, tokens, ``maxCalls``) held, and a stopped
   agent's spend is within its own budget;
5. the same input and replies under another scheduler seed give the same
   status and, for an ``ok`` run, the same value and projection (a run that
   stops early cancels concurrent branches, so which of them had finished
   is scheduling);
6. the caller's own ``check(input, result)``, when given.

A violation raises :class:`FlowCheckFailed` (an ``AssertionError``) after
hypothesis has shrunk it, naming the invariant, the input and each
reasoner's replies. Rejected: a fixed list of fake replies per test (what
pydantic-ai's ``TestModel`` does) — it never finds the one reply that breaks
the flow — and pre-drawing a reply list (it cannot know how many rounds an
agent takes, and the replay under another seed would hand replies out in a
different order).
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Final

from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from composable_agents.authoring.leaves import Reasoner, ToolDef
from composable_agents.compiler.deploy import Deployment, deploy
from composable_agents.core.canonical import Json, canonical_dumps
from composable_agents.core.codec import walk
from composable_agents.core.ir import App, CallStep, EvalPlan, Node, Prim
from composable_agents.core.schema import is_any, schema_of
from composable_agents.errors import MissingFakeError, StepTypeError, ValidationError
from composable_agents.execution.env import call_with_runtime_params, normalize_decision
from composable_agents.execution.result import STATUSES, Result
from composable_agents.execution.staged import plan_context
from composable_agents.testing.strategies import (
    _app_actions,
    _apps,
    _schema_strategy,
    _stages,
    action_is_valid,
    bad_replies,
    plan_is_valid,
    plans,
    replies,
    reply_is_valid,
)

__all__ = ["FlowCheckFailed", "FlowReport", "check_flow"]

SEEDS: Final = (1, 2)
"""The two scheduler seeds every example runs under (their results must agree)."""

BAD_REPLY_WEIGHT: Final = 4
"""One draw in this many asks a plain reasoner for an invalid reply."""


_ONE_IN_N: Final = st.integers(0, BAD_REPLY_WEIGHT - 1).map(lambda n: n == BAD_REPLY_WEIGHT - 1)
"""True once in ``BAD_REPLY_WEIGHT`` draws; shrinks to False (a valid reply)."""


class FlowCheckFailed(AssertionError):
    """An invariant of :func:`check_flow` failed; the message holds the shrunk example."""

    def __init__(self, invariant: str, message: str) -> None:
        super().__init__(message)
        self.invariant = invariant


@dataclass(slots=True)
class FlowReport:
    """What :func:`check_flow` saw over all examples (returned when every example passed)."""

    examples: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    invalid_runs: int = 0
    """Examples with at least one off-schema reply."""
    run_seconds: float = 0.0
    """Wall time inside ``dry_run`` (both seeds), including the reply draws made during the runs."""
    draw_seconds: float = 0.0
    """Wall time of the reply draws made during the runs (hypothesis generating replies)."""


@dataclass(slots=True)
class _Reply:
    reasoner: str
    role: str
    value: Json
    valid: bool | None  # None: unchecked (the reasoner has no reply type)


@dataclass(slots=True)
class _Source:
    """How one generated reasoner is answered: a strategy for its role and an oracle."""

    name: str
    role: str  # "reply", "controller" or "planner"
    draw: Callable[[Any], tuple[Json, bool | None]]


class _Script:
    """The replies of one example: drawn on first ask, memoized by ``(reasoner, prompt)``."""

    def __init__(self, data: Any, sources: Mapping[str, _Source], report: FlowReport) -> None:
        self.data = data
        self.report = report
        self.sources = sources
        self.memo: dict[tuple[str, str], _Reply] = {}
        self.order: list[_Reply] = []
        self.lock = threading.Lock()

    def fake(self, name: str) -> Callable[[Json], Json]:
        source = self.sources[name]

        def answer(value: Json) -> Json:
            try:
                key = (name, canonical_dumps(value))
            except Exception:  # noqa: BLE001 - a non-JSON prompt still gets an answer, unmemoized
                key = (name, repr(value))
            with self.lock:
                found = self.memo.get(key)
                if found is None:
                    started = time.perf_counter()
                    reply, valid = source.draw(self.data)
                    self.report.draw_seconds += time.perf_counter() - started
                    found = self.memo[key] = _Reply(name, source.role, reply, valid)
                    self.order.append(found)
            return found.value

        return answer

    @property
    def all_valid(self) -> bool:
        """Every reply was checked and valid."""
        return all(r.valid is True for r in self.order)

    @property
    def none_invalid(self) -> bool:
        """No reply was generated off-schema (unchecked replies of untyped reasoners allowed)."""
        return all(r.valid is not False for r in self.order)


@dataclass(slots=True)
class _Ran:
    key: str
    activation: str
    approved_before: bool


class _Spies:
    """Wrap every tool body (fake or real) and every gate answer to see what ran, and when."""

    def __init__(self, deployment: Deployment[Any, Any], tools: Mapping[str, Callable[..., Any]], gates: Any) -> None:
        self.ran: list[_Ran] = []
        self.approvals = 0
        self.fakes: dict[str, Callable[..., Any]] = {}
        self.gates: Any = None
        self.run_id = ""
        existing: dict[str, ToolDef | None] = dict(deployment.frozen.tools)
        for key in tools:
            existing.setdefault(key, None)
        for key, definition in existing.items():
            self.fakes[key] = self._spy(key, tools.get(key), definition)
        if gates is not None:
            self.gates = self._gate_spy(gates)

    def reset(self, run_id: str) -> None:
        self.ran = []
        self.approvals = 0
        self.run_id = run_id

    def _note(self, key: str, idempotency_key: str | None) -> None:
        act = idempotency_key or ""
        prefix = f"{self.run_id}:"
        act = act.removeprefix(prefix)
        self.ran.append(_Ran(key, act, self.approvals > 0))

    def _spy(self, key: str, fake: Callable[..., Any] | None, definition: ToolDef | None) -> Callable[..., Any]:
        target: Callable[..., Any] | None = fake if fake is not None else (definition.fn if definition else None)
        is_async = target is not None and inspect.iscoroutinefunction(target)

        def invoke(value: Json, idempotency_key: str, principal: Json) -> Any:
            self._note(key, idempotency_key)
            runtime: dict[str, Any] = {"idempotency_key": idempotency_key}
            if principal is not None:
                runtime["principal"] = principal
            if fake is not None:
                return call_with_runtime_params(fake, (value,), {}, runtime)
            if definition is None or definition.fn is None:
                msg = f"tool {key!r} has no local body: pass check_flow(..., tools={{{key!r}: fn}}) to fake it"
                raise MissingFakeError(msg)
            args, kwargs = definition.arguments(value, idempotency_key, principal)
            return definition.fn(*args, **kwargs)

        if is_async:

            async def aspy(value: Json, *, idempotency_key: str, principal: Json = None) -> Any:
                return await invoke(value, idempotency_key, principal)

            return aspy

        def spy(value: Json, *, idempotency_key: str, principal: Json = None) -> Any:
            return invoke(value, idempotency_key, principal)

        return spy

    def _gate_spy(self, gates: Any) -> Any:
        def count(decision: Any) -> Any:
            if decision is not None and normalize_decision(decision).get("approved") is True:
                self.approvals += 1
            return decision

        if not callable(gates):
            constant = gates

            def answer_constant(view: Json) -> Any:
                return count(constant)

            return answer_constant
        if inspect.iscoroutinefunction(gates):

            async def aanswer(view: Json) -> Any:
                return count(await gates(view))

            return aanswer

        def answer(view: Json) -> Any:
            return count(gates(view))

        return answer


@dataclass(frozen=True, slots=True)
class _Facts:
    """What the deployment grants and limits, read once."""

    granted: frozenset[str]  # the reachable tools the capabilities grant (all reachable ones without a tools list)
    wildcards: tuple[str, ...]
    approval: frozenset[str]
    max_calls: Mapping[str, int]
    budget: Mapping[str, float]
    user_controllers: frozenset[str]


def _facts(dep: Deployment[Any, Any], fakes: Mapping[str, Any]) -> _Facts:
    roots: list[Node] = [dep.frozen.node, *dep.frozen.subflows.values()]
    reachable: set[str] = set()
    controllers: set[str] = set()
    staged = False
    for root in roots:
        for _nid, node, _p in walk(root):
            if isinstance(node, Prim) and isinstance(node.step, CallStep):
                reachable.add(node.step.tool)
            elif isinstance(node, App):
                reachable.update(node.tools)
                controllers.add(node.controller)
            elif isinstance(node, EvalPlan):
                staged = True
    if staged:  # a plan may bind any frozen tool (check_plan enforces the rest)
        reachable.update(dep.frozen.tools)
    caps = dep.capabilities_json or {}
    grants = caps.get("tools")
    wildcards: tuple[str, ...] = ()
    max_calls: dict[str, int] = {}
    if isinstance(grants, list):
        names = {str(g.get("name")) for g in grants if isinstance(g, dict)}
        wildcards = tuple(n[:-1] for n in names if n.endswith("/*"))
        reachable &= names | {k for k in reachable if any(k.startswith(w) for w in wildcards)}
        for g in grants:
            if isinstance(g, dict) and isinstance(g.get("maxCalls"), int):
                max_calls[str(g["name"])] = int(g["maxCalls"])
    budget = caps.get("budget")
    approval = frozenset(k for k, d in dep.frozen.tools.items() if d.contract.approval)
    return _Facts(
        granted=frozenset(reachable),
        wildcards=wildcards,
        approval=approval,
        max_calls=max_calls,
        budget={k: float(v) for k, v in budget.items() if isinstance(v, (int, float))} if isinstance(budget, dict) else {},
        user_controllers=frozenset(c for c in controllers if c in fakes),
    )


def _sources(dep: Deployment[Any, Any], fakes: Mapping[str, Any]) -> dict[str, _Source]:
    """A reply source for every reasoner the program reaches that has no fake."""
    frozen = dep.frozen
    apps = {a.controller: a for a in _apps(frozen.node, frozen.subflows)}
    stages = {s.planner: s for s in _stages(frozen.node, frozen.subflows)}
    out: dict[str, _Source] = {}
    for name in sorted(dep.program.reasoners - set(fakes)):
        if name in apps:
            app = apps[name]
            strategy = _app_actions(app, frozen.tools, _finish_values(dep))
            out[name] = _Source(name, "controller", _drawer(strategy, partial(action_is_valid, app), name))
        elif name in stages:
            stage = stages[name]
            budget = stage.ann.cost_usd if stage.ann is not None else None
            ctx = plan_context(dep, budget_usd=budget)
            out[name] = _Source(name, "planner", _drawer(plans(ctx), partial(plan_is_valid, ctx), name))
        else:
            definition = frozen.reasoners.get(name) or Reasoner(name=name, model="unknown")
            good, bad = replies(definition), bad_replies(definition)

            typed = definition.reply is not None and not is_any(definition.reply)

            def draw(
                data: Any, d: Reasoner[Any, Any] = definition, good: Any = good, bad: Any = bad, n: str = name, typed: bool = typed
            ) -> tuple[Json, bool | None]:
                wants_bad = data.draw(_ONE_IN_N, label=f"{n}: off-schema reply?")
                value = data.draw(bad if wants_bad else good, label=f"reply of {n}")
                # Without a reply type nothing checks the reply: the flow's own as_type/expect is its boundary.
                return value, (reply_is_valid(d, value) if typed else None)

            out[name] = _Source(name, "reply", draw)
    return out


def _finish_values(dep: Deployment[Any, Any]) -> st.SearchStrategy[Json] | None:
    """A finishing controller's values: the flow's output type when the agent is the whole flow."""
    if isinstance(dep.frozen.node, App) and not is_any(dep.out_type):
        try:
            return _schema_strategy(schema_of(dep.out_type), dep.out_type)
        except Exception:  # noqa: BLE001 - an output type with no schema: any JSON
            return None
    return None


def _drawer(
    strategy: st.SearchStrategy[Json], valid: Callable[[Json], bool], name: str
) -> Callable[[Any], tuple[Json, bool | None]]:
    def draw(data: Any) -> tuple[Json, bool | None]:
        value = data.draw(strategy, label=f"reply of {name}")
        return value, valid(value)

    return draw


def _brief(value: Any, limit: int = 300) -> str:
    try:
        text = canonical_dumps(value)
    except Exception:  # noqa: BLE001 - show anything
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _render(invariant: str, problem: str, value: Json, script: _Script, result: Result[Any] | None) -> str:
    lines = [f"check_flow: invariant {invariant!r} violated: {problem}", f"  input: {_brief(value)}"]
    if script.order:
        lines.append("  replies (in the order asked):")
        for r in script.order:
            tag = {True: "valid", False: "INVALID (generated off-schema)", None: "unchecked: no reply type"}[r.valid]
            lines.append(f"    {r.reasoner} [{r.role}, {tag}]: {_brief(r.value)}")
    else:
        lines.append("  replies: none generated")
    if result is not None:
        lines.append(f"  status: {result.status}")
        if result.status == "ok":
            lines.append(f"  value: {_brief(result.raw_value, 600)}")
        if result.detail is not None:
            lines.append(f"  detail: {_brief(result.detail, 600)}")
    return "\n".join(lines)


def _type_check_failed(result: Result[Any]) -> bool:
    """The run ended on a ``StepTypeError`` (a schema check), directly or as the cause of a step failure."""
    if (result.detail or {}).get("error") == "StepTypeError":
        return True
    seen: BaseException | None = result.error
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, StepTypeError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _tool_granted(key: str, facts: _Facts) -> bool:
    if key.startswith("__"):
        return True
    if key in facts.granted:
        return True
    return any(key.startswith(w) for w in facts.wildcards)


def _violations(
    result: Result[Any], script: _Script, spies: _Spies, facts: _Facts, generated_actor: bool
) -> list[tuple[str, str]]:
    """Invariants 1-4 on one run: ``[(invariant, problem), ...]``."""
    found: list[tuple[str, str]] = []
    if result.status not in STATUSES:
        found.append(("documented status", f"status {result.status!r} is not one of {', '.join(STATUSES)}"))
    detail = result.detail or {}
    error = str(detail.get("error", ""))
    if script.none_invalid and result.status == "failed":
        # A type check firing is the boundary's job when something unvetted fed it: a generated
        # controller or plan, or the reply of a reasoner without a reply type.
        excused = _type_check_failed(result) and (generated_actor or not script.all_valid)
        if not excused:
            found.append(
                (
                    "no failure on valid replies",
                    (
                        f"the run failed with {error or 'an error'} ({_brief(detail.get('message', ''), 400)}) "
                        "although no generated reply was off-schema"
                    ),
                )
            )
    if script.all_valid:
        if result.status in ("max_rounds", "controller_error") and facts.user_controllers:
            found.append(
                (
                    "agent converges",
                    (
                        f"the agent ended {result.status!r} on valid replies: its controller "
                        f"({', '.join(sorted(facts.user_controllers))}) never finished"
                    ),
                )
            )
        if result.status == "plan_rejected" and not any(r.role == "planner" for r in script.order):
            found.append(("plan admitted", "the user's own planner produced a plan the stage rejected"))
    counts: dict[str, set[str]] = {}
    for ran in spies.ran:
        counts.setdefault(ran.key, set()).add(ran.activation)
        if not _tool_granted(ran.key, facts):
            found.append(("granted tools only", f"tool {ran.key!r} ran at {ran.activation} but is not granted"))
        if ran.key in facts.approval and not ran.approved_before:
            found.append(
                ("approval before dangerous tools", f"approval-required tool {ran.key!r} ran at {ran.activation} with no approving gate before it")
            )
    for key, limit in facts.max_calls.items():
        n = len(counts.get(key, ()))
        if n > limit:
            found.append(("budget held", f"tool {key!r} ran {n} times; maxCalls is {limit}"))
    usage = result.usage or {}
    cost = usage.get("cost", result.cost)
    if "cost" in facts.budget and isinstance(cost, (int, float)) and cost > facts.budget["cost"] + 1e-9:
        found.append(("budget held", f"the run spent {cost} USD; the budget is {facts.budget['cost']}"))
    spent = detail.get("spent")
    if isinstance(spent, dict) and isinstance(spent.get("budget"), dict):
        # An agent loop that stopped reports its own spend against its own budget.
        limit, used = spent["budget"].get("cost"), spent.get("cost")
        if isinstance(limit, (int, float)) and isinstance(used, (int, float)) and used > limit + 1e-9:
            found.append(("budget held", f"the agent spent {used} USD; its budget is {limit}"))
    tokens = usage.get("tokens")
    if "tokens" in facts.budget and isinstance(tokens, int) and tokens > facts.budget["tokens"]:
        found.append(("budget held", f"the run used {tokens} tokens; the budget is {int(facts.budget['tokens'])}"))
    return found


def _same(a: Result[Any], b: Result[Any]) -> str | None:
    """Why two runs of one example differ (``None`` when they agree)."""
    if a.status != b.status:
        return f"status {a.status!r} under seed {SEEDS[0]} but {b.status!r} under seed {SEEDS[1]}"
    if a.status != "ok":
        # A run that stops early cancels its concurrent branches: which ones had finished (and so the
        # projection, and which failure came first) is scheduling, not a result. Only the status counts.
        return None
    if canonical_dumps(a.raw_value) != canonical_dumps(b.raw_value):
        return f"value {_brief(a.raw_value)} under seed {SEEDS[0]} but {_brief(b.raw_value)} under seed {SEEDS[1]}"
    pa, pb = a.projection.comparable(), b.projection.comparable()
    if pa != pb:
        diff = sorted(set(pa) ^ set(pb)) or sorted(k for k in pa if pa[k] != pb.get(k))
        return f"projection differs under seeds {SEEDS[0]} and {SEEDS[1]} at {', '.join(diff[:5])}"
    return None


def _as_deployment(target: Any) -> Deployment[Any, Any]:
    if isinstance(target, Deployment):
        return target
    if hasattr(target, "deploy") and hasattr(target, "controller"):  # the Agent facade
        return target.deploy()  # type: ignore[no-any-return]
    return deploy(target)


def _input_strategy(dep: Deployment[Any, Any], inputs: Any) -> st.SearchStrategy[Any]:
    if isinstance(inputs, st.SearchStrategy):
        return inputs
    if inputs is None:
        if is_any(dep.in_type):
            msg = "check_flow(inputs=None) needs a typed flow input; pass a hypothesis strategy of inputs"
            raise TypeError(msg)
        return _schema_strategy(schema_of(dep.in_type), dep.in_type)
    msg = f"check_flow(inputs=...) takes a hypothesis strategy (or None for the input type's schema), got {inputs!r}"
    raise TypeError(msg)


def check_flow(
    deployment: Any,
    inputs: Any = None,
    *,
    reasoners: Mapping[str, Callable[..., Any]] | None = None,
    tools: Mapping[str, Callable[..., Any]] | None = None,
    max_examples: int = 100,
    gates: Any = None,
    principal: Json = None,
    check: Callable[[Any, Result[Any]], object] | None = None,
    settings: Any = None,
) -> FlowReport:
    """Property-test ``deployment`` (a Deployment, an Agent or an arrow) over generated inputs and replies.

    ``inputs`` is a hypothesis strategy of flow inputs (``None``: generated
    from the flow's input type). ``reasoners``/``tools``/``gates`` are as for
    ``dry_run``; every reasoner without a fake is answered by a strategy. An
    example that breaks an invariant (see the module docs) raises
    :class:`FlowCheckFailed` with hypothesis's shrunk example: the invariant,
    the input and each reasoner's replies. ``check(input, result)`` is your
    own property of every run: returning ``False`` or raising
    ``AssertionError`` reports the example the same way. ``settings`` (a
    ``hypothesis.settings``) overrides the defaults (``max_examples``, no
    deadline). Returns a :class:`FlowReport` when every example passed.
    """
    dep = _as_deployment(deployment)
    if dep.mode == "strict" and dep.blocking:
        # Every run would refuse the same way: say so once, not once per example.
        msg = "check_flow: this deployment has blocking diagnostics and refuses to run:\n" + dep.explain()
        raise ValidationError(dep.blocking, msg)
    fakes = dict(reasoners or {})
    strategy = _input_strategy(dep, inputs)
    sources = _sources(dep, fakes)
    facts = _facts(dep, fakes)
    spies = _Spies(dep, dict(tools or {}), gates)
    generated_actor = any(s.role in ("controller", "planner") for s in sources.values())
    report = FlowReport()

    def run_once(value: Any, script: _Script, seed: int) -> Result[Any]:
        run_id = f"check-{seed}"
        spies.reset(run_id)
        answers = {name: script.fake(name) for name in sources}
        started = time.perf_counter()
        try:
            return dep.dry_run(
                value,
                reasoners={**fakes, **answers},
                tools=spies.fakes,
                gates=spies.gates,
                principal=principal,
                run_id=run_id,
                seed=seed,
            )
        finally:
            report.run_seconds += time.perf_counter() - started

    def example(data: Any) -> None:
        value = data.draw(strategy, label="input")
        script = _Script(data, sources, report)
        try:
            first = run_once(value, script, SEEDS[0])
        except Exception as exc:
            msg = _render("no escaped exception", f"dry_run raised {type(exc).__name__}: {exc}", value, script, None)
            raise FlowCheckFailed("no escaped exception", msg) from exc
        problems = _violations(first, script, spies, facts, generated_actor)
        if check is not None:
            try:
                verdict = check(value, first)
            except AssertionError as exc:
                problems.append(("your check", f"check(input, result) failed: {str(exc) or type(exc).__name__}"))
            else:
                if verdict is False:
                    problems.append(("your check", "check(input, result) returned False"))
        if not problems:
            second = run_once(value, script, SEEDS[1])
            differs = _same(first, second)
            if differs is not None:
                problems.append(("same result under another seed", differs))
        if problems:
            invariant = problems[0][0]
            text = _render(invariant, "; ".join(p for _i, p in problems), value, script, first)
            raise FlowCheckFailed(invariant, text) from first.error
        report.examples += 1
        report.statuses[first.status] = report.statuses.get(first.status, 0) + 1
        if not script.none_invalid:
            report.invalid_runs += 1

    base = hyp_settings(
        max_examples=max_examples,
        deadline=None,
        # No "explain" phase: it re-runs failing examples under a line tracer (seconds per failure);
        # the shrunk example and the rendered replies already say what broke.
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )
    chosen = hyp_settings(settings, deadline=None) if settings is not None else base
    # One example database entry per deployment: every check_flow shares this inner function, and
    # a failure saved for one flow must not be replayed first into another (hypothesis mixes this
    # attribute into the database key).
    example._hypothesis_internal_add_digest = dep.artifact_hash.encode()  # type: ignore[attr-defined]
    test = chosen(given(data=st.data())(example))
    _run_off_loop(test)
    return report


def _run_off_loop(test: Callable[[], None]) -> None:
    """Run ``test`` here, or in a thread when this thread runs an event loop.

    ``dry_run`` starts its own loop; inside a running loop it would move to a
    thread and the lazy reply draws would leave the thread hypothesis runs
    in. Running the whole property in one thread keeps every draw in it.
    """
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        test()
        return
    box: list[BaseException] = []

    def target() -> None:
        try:
            test()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box.append(exc)

    thread = threading.Thread(target=target, name="composable-agents-check-flow")
    thread.start()
    thread.join()
    if box:
        raise box[0]

