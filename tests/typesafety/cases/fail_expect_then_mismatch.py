from composable_agents import expect, think
from ts_common import count, summarize

flow = expect(think(summarize), int) >> count  # E: Unsupported operand types for >>
