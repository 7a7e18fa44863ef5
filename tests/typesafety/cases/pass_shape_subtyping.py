from ts_common import Query, count, lookup

from composable_agents.typed import Branching, Feedback


def accepts_feedback(flow: Feedback[Query, int]) -> Feedback[Query, int]:
    return flow


def accepts_branching(flow: Branching[Query, tuple[int, int]]) -> None:
    del flow


accepts_feedback(lookup >> count)
accepts_branching((lookup >> count) & (lookup >> count))
