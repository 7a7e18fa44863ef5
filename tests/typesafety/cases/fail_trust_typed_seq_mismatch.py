from ts_common import count, render, shout

from composable_agents import typed

flow = typed.seq(count, shout)  # E: of "seq"
