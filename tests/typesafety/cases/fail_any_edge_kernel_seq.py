from composable_agents import call, seq
from ts_common import count, lookup

flow = seq(lookup >> count, call("audit"))  # E: [any-edge]
