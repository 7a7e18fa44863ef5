from composable_agents import call
from ts_common import count

flow = call("fetch_hits") >> count  # E: [any-edge]
