from ts_common import Routine, Urgent, enqueue, page, shout

from composable_agents import typed
from composable_agents.typed import Branching

flow: Branching[Urgent | Routine | str, str | int] = typed.choice(page, enqueue, shout)
