from ts_common import count, shout

from composable_agents import typed

flow = typed.seq(count, shout)  # E: of "seq"
