from ts_common import count, lookup, render, shout

from composable_agents import typed

flow = typed.seq(lookup, count, render, shout, shout, shout, shout, count)  # E: [edge-mismatch]
