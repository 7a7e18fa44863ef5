from ts_common import lookup, summarize

from composable_agents import think, typed

flow = typed.seq(lookup, think(summarize))  # E: [any-edge]
