from composable_agents import think
from ts_common import lookup, summarize

flow = lookup >> think(summarize)  # type: ignore[any-edge]
