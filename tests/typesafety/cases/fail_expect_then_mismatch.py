from ts_common import count, summarize

from composable_agents import expect, think

flow = expect(think(summarize), int) >> count  # E: Unsupported operand types for >>
