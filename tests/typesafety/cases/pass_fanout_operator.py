from ts_common import Query, count, lookup

from composable_agents.typed import Dataflow

both: Dataflow[list[str], tuple[int, int]] = count & count
pair: Dataflow[Query, tuple[list[str], int]] = lookup & (lookup >> count)
