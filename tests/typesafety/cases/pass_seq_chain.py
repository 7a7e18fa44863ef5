from composable_agents.typed import Pipeline
from ts_common import Query, count, lookup, render

flow: Pipeline[Query, str] = lookup >> count >> render
