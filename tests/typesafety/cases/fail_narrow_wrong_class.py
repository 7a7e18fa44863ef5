from composable_agents.typed import Branching, Pipeline
from ts_common import Routine, Urgent, enqueue, page

flow: Pipeline[Urgent | Routine, str | int] = (page | enqueue).narrow(Branching)  # E: Incompatible types in assignment
