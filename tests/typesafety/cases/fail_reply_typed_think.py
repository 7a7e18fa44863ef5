from ts_common import enqueue, summarize

from composable_agents import think

flow = think(summarize) >> enqueue  # E: Unsupported operand types for >>
