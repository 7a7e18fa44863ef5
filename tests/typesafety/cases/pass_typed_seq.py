from ts_common import Query, count, lookup, render, shout

from composable_agents import typed
from composable_agents.typed import Pipeline

flow: Pipeline[Query, str] = typed.seq(lookup, count, render, shout)
