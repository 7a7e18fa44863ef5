from ts_common import Routine, Urgent, page, summarize

from composable_agents import as_type, think

flow = think(summarize) >> as_type(Urgent, Routine) >> page  # E: Unsupported operand types for >>
