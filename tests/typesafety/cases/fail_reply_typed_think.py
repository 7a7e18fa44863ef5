from composable_agents import think
from ts_common import enqueue, summarize

flow = think(summarize) >> enqueue  # E: Unsupported operand types for >>
