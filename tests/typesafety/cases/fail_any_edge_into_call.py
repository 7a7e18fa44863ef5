from composable_agents import call
from ts_common import count, lookup

flow = lookup >> count >> call("audit")  # E: [any-edge]
