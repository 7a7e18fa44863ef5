from ts_common import count, lookup

from composable_agents import call

flow = (
    lookup
    >> count
    >> call("audit")  # E: [any-edge]
)
