from ts_common import Query, count, lookup

from composable_agents.typed import Arrow, Pipeline, as_flow

opaque: Arrow[Query, int] = as_flow(lookup >> count)
back: Pipeline[Query, int] = opaque.narrow(Pipeline)
