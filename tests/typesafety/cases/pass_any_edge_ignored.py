from ts_common import lookup, summarize

from composable_agents import think

flow = lookup >> think(summarize)  # type: ignore[any-edge]
