from composable_agents import as_type, think
from ts_common import Routine, Urgent, page, summarize

flow = think(summarize) >> as_type(Urgent, Routine) >> page  # E: Unsupported operand types for >>
