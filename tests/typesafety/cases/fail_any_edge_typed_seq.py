from composable_agents import think, typed
from ts_common import lookup, summarize

flow = typed.seq(lookup, think(summarize))  # E: [any-edge]
