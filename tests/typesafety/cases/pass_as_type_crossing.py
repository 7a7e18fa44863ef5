from ts_common import Query, Urgent, lookup, page, summarize

from composable_agents import as_type, think
from composable_agents.typed import Pipeline

# think(summarize) takes Any; the edge into it is an any-edge, so the flow
# starts at the reasoner and crosses back into typed code with as_type.
flow: Pipeline[object, str] = think(summarize) >> as_type(Urgent) >> page
typed_into_check: Pipeline[Query, list[str]] = lookup >> as_type(list[str])
