from ts_common import lookup, shout

from composable_agents import human_gate

flow = lookup >> human_gate("ok?") >> shout  # E: Unsupported operand types for >>
