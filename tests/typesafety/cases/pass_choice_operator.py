from composable_agents.typed import Branching
from ts_common import Routine, Urgent, enqueue, page

route: Branching[Urgent | Routine, str | int] = page | enqueue
