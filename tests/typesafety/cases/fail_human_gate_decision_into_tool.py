from ts_common import count, lookup

from composable_agents import human_gate

flow = lookup >> human_gate("ok?", on_reject="value") >> count  # E: Unsupported operand types for >>
