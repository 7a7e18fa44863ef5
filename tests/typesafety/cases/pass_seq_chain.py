from ts_common import Query, count, lookup, render

from composable_agents.typed import Pipeline

flow: Pipeline[Query, str] = lookup >> count >> render
