from ts_common import Routine, Urgent, enqueue, page

from composable_agents.typed import Branching

route: Branching[Urgent | Routine, str | int] = page | enqueue
