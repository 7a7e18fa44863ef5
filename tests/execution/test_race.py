"""Race family at run time: settle on success, hedge timing, quorum order, cancellation."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from composable_agents import deploy, hedge, quorum, race, tool
from composable_agents.authoring.arrow import as_node
from composable_agents.errors import AllBranchesFailed
from composable_agents.execution.env import InMemoryEnv, virtual_sleep
from composable_agents.execution.interpreter import interpret
from composable_agents.execution.projection import Recorder

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def branch_tool(
    name: str, delay: float, *, fail: bool = False, log: list[Any] | None = None
) -> Any:
    """A read tool that takes ``delay`` virtual seconds, then returns ``name`` (or fails)."""

    async def body(x: Any) -> Any:
        if log is not None:
            log.append(("start", name, _now()))
        try:
            await virtual_sleep(delay)
        except asyncio.CancelledError:
            if log is not None:
                log.append(("cancelled", name, _now()))
            raise
        if fail:
            msg = f"{name} failed"
            raise RuntimeError(msg)
        return name

    body.__name__ = f"race_{name}"
    return tool(effect="read", name=f"race_{name}")(body)


def _now() -> float:
    from composable_agents.execution.env import current_env

    return current_env().now()


def run(
    arrow: Any, value: Any, env: InMemoryEnv | None = None
) -> tuple[Any, InMemoryEnv, Recorder]:
    env = env or InMemoryEnv()
    rec = Recorder()

    async def go() -> Any:
        return await interpret(as_node(arrow), value, env, recorder=rec)

    return asyncio.run(go()), env, rec


def last_event(rec: Recorder) -> dict[str, Any]:
    return rec.projection().events[-1]


# -- Env.race directly ------------------------------------------------------------


def test_env_race_fast_failure_does_not_block_slow_success() -> None:
    env = InMemoryEnv()

    async def fail() -> str:
        await env.sleep(1)
        raise RuntimeError("fast failure")

    async def ok() -> str:
        await env.sleep(5)
        return "slow"

    async def go() -> Any:
        return await env.race([fail, ok])

    assert asyncio.run(go()) == [(1, "slow")]
    assert env.now() == 5


def test_env_race_all_failing_raises_with_errors_in_branch_order() -> None:
    env = InMemoryEnv()

    def failing(delay: float, tag: str) -> Any:
        async def thunk() -> str:
            await env.sleep(delay)
            raise ValueError(tag)

        return thunk

    async def go() -> Any:
        return await env.race([failing(3, "a"), failing(1, "b"), failing(2, "c")])

    with pytest.raises(AllBranchesFailed) as info:
        asyncio.run(go())
    assert [str(e) for e in info.value.errors] == ["a", "b", "c"]


def test_env_quorum_simultaneous_successes_rank_by_branch_index() -> None:
    def after(env: InMemoryEnv, delay: float, value: str) -> Any:
        async def thunk() -> str:
            await env.sleep(delay)
            return value

        return thunk

    for seed in range(12):
        env = InMemoryEnv(seed=seed)
        thunks = [after(env, 3, "a"), after(env, 1, "b"), after(env, 1, "c"), after(env, 1, "d")]
        assert asyncio.run(env.race(thunks, k=2)) == [(1, "b"), (2, "c")], seed


def test_env_hedge_starts_lazily_on_the_virtual_clock() -> None:
    env = InMemoryEnv()
    starts: dict[int, float] = {}

    def branch(i: int, delay: float) -> Any:
        async def thunk() -> int:
            starts[i] = env.now()
            await env.sleep(delay)
            return i

        return thunk

    async def go() -> Any:
        return await env.race([branch(0, 10), branch(1, 10), branch(2, 1), branch(3, 1)], hedge_s=2)

    assert asyncio.run(go()) == [(2, 2)]
    assert starts == {0: 0, 1: 2, 2: 4}  # branch 3 never starts: branch 2 won at t=5 < 6
    assert env.now() == 5


def test_env_hedge_starts_next_branch_at_once_when_all_started_failed() -> None:
    env = InMemoryEnv()
    starts: dict[int, float] = {}

    async def fail() -> int:
        starts[0] = env.now()
        await env.sleep(0.5)
        raise RuntimeError("down")

    async def ok() -> int:
        starts[1] = env.now()
        return 1

    async def go() -> Any:
        return await env.race([fail, ok], hedge_s=10)

    assert asyncio.run(go()) == [(1, 1)]
    assert starts == {0: 0, 1: 0.5}


def test_env_race_cancels_losers() -> None:
    env = InMemoryEnv()
    cancelled: list[str] = []

    def branch(name: str, delay: float) -> Any:
        async def thunk() -> str:
            try:
                await env.sleep(delay)
            except asyncio.CancelledError:
                cancelled.append(name)
                raise
            return name

        return thunk

    async def go() -> Any:
        return await env.race([branch("a", 1), branch("b", 2), branch("c", 3)])

    assert asyncio.run(go()) == [(0, "a")]
    assert sorted(cancelled) == ["b", "c"]


# -- through the interpreter ---------------------------------------------------------


def test_race_flow_fast_failure_slow_success_records_winner_and_cancelled() -> None:
    log: list[Any] = []
    fast = branch_tool("rf_fast", 1, fail=True, log=log)
    slow = branch_tool("rf_slow", 5, log=log)
    slower = branch_tool("rf_slower", 9, log=log)
    out, _env, rec = run(race(fast, slow, slower), 0)
    assert out == "rf_slow"
    event = last_event(rec)
    assert event["merge"] == "race"
    assert event["winner"] == 1
    assert event["launched"] == 3
    # the fast failure is retried (read tool) until the slow success wins; both others are cancelled
    assert event["cancelled"] == [0, 2]
    assert ("cancelled", "rf_slower", 5) in log


def test_race_flow_all_failing_ends_failed_with_every_error() -> None:
    a = branch_tool("rf_a", 1, fail=True)
    b = branch_tool("rf_b", 2, fail=True)
    d = deploy(race(a, b), mode="dev")
    result = d.dry_run(0)
    assert result.status == "failed"
    assert result.detail is not None
    assert result.detail["error"] == "AllBranchesFailed"
    assert len(result.detail["errors"]) == 2
    assert "rf_a" in result.detail["errors"][0]["message"]
    assert "rf_b" in result.detail["errors"][1]["message"]


def test_quorum_flow_returns_first_k_in_branch_order() -> None:
    a = branch_tool("q_a", 4)
    b = branch_tool("q_b", 1)
    c = branch_tool("q_c", 2)
    e = branch_tool("q_e", 1)
    out, _, rec = run(quorum(a, b, c, e, k=3), 0)
    assert out == ["q_b", "q_c", "q_e"]
    assert last_event(rec)["winner"] == [1, 2, 3]
    assert last_event(rec)["cancelled"] == [0]
    assert last_event(rec)["merge"] == "quorum"


def test_hedge_flow_start_times_are_lazy() -> None:
    log: list[Any] = []
    a = branch_tool("h_a", 10, log=log)
    b = branch_tool("h_b", 1, log=log)
    c = branch_tool("h_c", 1, log=log)
    out, env, rec = run(hedge(a, b, c, hedge_ms=3000), 0)
    assert out == "h_b"
    assert [(n, t) for kind, n, t in log if kind == "start"] == [("h_a", 0), ("h_b", 3)]
    assert env.now() == 4
    assert last_event(rec)["launched"] == 2
    assert last_event(rec)["cancelled"] == [0]


def test_race_winner_is_the_same_under_every_seed() -> None:
    a = branch_tool("s_a", 2)
    b = branch_tool("s_b", 1)
    c = branch_tool("s_c", 1)
    seen = set()
    for seed in range(10):
        out, _, rec = run(quorum(a, b, c, k=2), 0, InMemoryEnv(seed=seed))
        seen.add((tuple(out), tuple(last_event(rec)["winner"])))
    assert seen == {(("s_b", "s_c"), (1, 2))}


# -- derived fan-out patterns ------------------------------------------------------------


def test_map_n_runs_the_body_n_times_concurrently() -> None:
    from composable_agents.authoring.derived import map_n

    starts: list[float] = []

    @tool(name="mn_step", effect="read")
    async def step(x: int) -> int:
        starts.append(_now())
        await virtual_sleep(1)
        return x * 10

    result = deploy(map_n(step, 3), mode="dev").dry_run(2)
    assert result.value == [20, 20, 20]
    assert starts == [0, 0, 0]


def test_map_reduce_is_each_then_a_pure() -> None:
    from composable_agents import pure
    from composable_agents.authoring.derived import map_reduce

    @pure("mr.total")
    def total(xs: list[int]) -> int:
        return sum(xs)

    @tool(name="mr_sq", effect="read")
    def sq(x: int) -> int:
        return x * x

    flow = map_reduce(sq, total, max_parallel=2)
    node = as_node(flow)
    assert node.OP == "seq" and node.steps[0].OP == "each" and node.steps[0].max_parallel == 2  # type: ignore[attr-defined]
    assert deploy(flow, mode="dev").dry_run([1, 2, 3]).value == 14
    assert deploy(flow, mode="dev").dry_run([]).value == 0


def test_vote_returns_the_most_common_result_ties_to_lowest_index() -> None:
    from composable_agents import Reasoner, think
    from composable_agents.authoring.derived import vote

    judges = [Reasoner(f"vote_j{i}", model="m") for i in range(4)]
    replies = {"vote_j0": "no", "vote_j1": "yes", "vote_j2": "yes", "vote_j3": "no"}
    fakes = {name: (lambda v, _r=reply: _r) for name, reply in replies.items()}
    d = deploy(vote(*[think(j) for j in judges]), reasoners=judges, mode="dev")
    assert d.dry_run("q", reasoners=fakes).value == "no"  # 2-2 tie: "no" first appears at index 0
    fakes["vote_j3"] = lambda v: "yes"
    assert d.dry_run("q", reasoners=fakes).value == "yes"
    keyed = deploy(vote(*[think(j) for j in judges[:3]], key="label"), reasoners=judges, mode="dev")
    records = {
        "vote_j0": {"label": "a", "why": 0},
        "vote_j1": {"label": "b"},
        "vote_j2": {"label": "a", "why": 2},
    }
    out = keyed.dry_run("q", reasoners={n: (lambda v, _r=r: _r) for n, r in records.items()}).value
    assert out == {"label": "a", "why": 0}


def test_review_loops_until_approved_or_out_of_rounds() -> None:
    from composable_agents import Reasoner, think
    from composable_agents.authoring.derived import review

    writer = Reasoner("rv_writer", model="m")
    critic = Reasoner("rv_critic", model="m")
    seen: list[Any] = []

    def write(state: dict[str, Any]) -> str:
        seen.append((state["draft"], state["feedback"]))
        return f"draft{state['rounds'] + 1}"

    def approve_second(state: dict[str, Any]) -> dict[str, Any]:
        ok = state["draft"] == "draft2"
        return {"approved": ok, "feedback": None if ok else "more detail"}

    flow = review(think(writer), think(critic), max_rounds=3)
    d = deploy(flow, reasoners=[writer, critic], mode="dev")
    result = d.dry_run("topic", reasoners={"rv_writer": write, "rv_critic": approve_second})
    assert result.value == {"draft": "draft2", "approved": True, "feedback": None, "rounds": 2}
    assert seen == [(None, None), ("draft1", "more detail")]
    never = d.dry_run(
        "topic", reasoners={"rv_writer": write, "rv_critic": lambda s: {"approved": False}}
    )
    assert never.value == {"draft": "draft3", "approved": False, "feedback": None, "rounds": 3}
    bad = d.dry_run("topic", reasoners={"rv_writer": write, "rv_critic": lambda s: "fine"})
    assert bad.status == "failed"
