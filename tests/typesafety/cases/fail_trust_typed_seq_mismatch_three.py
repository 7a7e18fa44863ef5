from ts_common import count, lookup, shout

from composable_agents import typed

flow = typed.seq(lookup, count, shout)  # E: of "seq"
