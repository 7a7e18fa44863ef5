from ts_common import Query, count, lookup

from composable_agents.typed import Pipeline


def needs_pipeline(flow: Pipeline[Query, tuple[int, int]]) -> None:
    del flow


needs_pipeline((lookup >> count) & (lookup >> count))  # E: incompatible type "Dataflow[
