from ts_common import Query, count, lookup

from composable_agents import Dataflow, par

flow: Dataflow[Query, tuple[int, int]] = par(lookup, lookup >> count)  # E: Incompatible types in assignment
