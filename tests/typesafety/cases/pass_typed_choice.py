from composable_agents import typed
from composable_agents.typed import Branching
from ts_common import Routine, Urgent, enqueue, page, shout

flow: Branching[Urgent | Routine | str, str | int] = typed.choice(page, enqueue, shout)
