from ts_common import Query, count, lookup

from composable_agents import typed
from composable_agents.typed import Dataflow

flow: Dataflow[Query, tuple[list[str], int, int]] = typed.fanout(lookup, lookup >> count, lookup >> count)
