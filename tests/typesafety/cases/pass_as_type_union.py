from ts_common import Routine, Urgent, enqueue, page, summarize

from composable_agents import as_type, think
from composable_agents.typed import Branching

flow: Branching[object, str | int] = think(summarize) >> as_type(Urgent, Routine) >> (page | enqueue)
