from ts_common import count, lookup

from composable_agents import call, seq

flow = seq(lookup >> count, call("audit"))  # E: [any-edge]
