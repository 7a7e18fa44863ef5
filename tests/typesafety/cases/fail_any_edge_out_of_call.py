from ts_common import count

from composable_agents import call

flow = call("fetch_hits") >> count  # E: [any-edge]
