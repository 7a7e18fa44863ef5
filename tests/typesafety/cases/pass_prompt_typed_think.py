from ts_common import Query, enqueue, triage

from composable_agents import think
from composable_agents.typed import Pipeline

flow: Pipeline[Query, int] = think(triage) >> enqueue
