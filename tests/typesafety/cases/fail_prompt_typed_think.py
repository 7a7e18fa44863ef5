from composable_agents import think
from ts_common import count, lookup, triage

flow = lookup >> count >> think(triage)  # E: Argument 1 to "think" has incompatible type "Reasoner[Query, Routine]"
