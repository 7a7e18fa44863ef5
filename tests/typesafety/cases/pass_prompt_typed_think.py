from composable_agents import think
from composable_agents.typed import Pipeline
from ts_common import Query, enqueue, triage

flow: Pipeline[Query, int] = think(triage) >> enqueue
