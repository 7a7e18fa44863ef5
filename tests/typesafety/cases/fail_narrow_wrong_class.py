from ts_common import Routine, Urgent, enqueue, page

from composable_agents.typed import Branching, Pipeline

flow: Pipeline[Urgent | Routine, str | int] = (page | enqueue).narrow(Branching)  # E: Incompatible types in assignment
