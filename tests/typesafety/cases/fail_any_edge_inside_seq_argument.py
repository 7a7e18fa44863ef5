from ts_common import lookup, page, summarize

from composable_agents import think, typed

flow = typed.seq(lookup >> think(summarize), page)  # E: [any-edge]
