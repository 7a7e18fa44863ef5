from ts_common import count, lookup, shout

from composable_agents import race

flow = race(lookup >> count, lookup >> count) >> shout  # E: Unsupported operand types for >>
