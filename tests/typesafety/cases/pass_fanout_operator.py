from composable_agents.typed import Dataflow
from ts_common import Query, count, lookup

both: Dataflow[list[str], tuple[int, int]] = count & count
pair: Dataflow[Query, tuple[list[str], int]] = lookup & (lookup >> count)
