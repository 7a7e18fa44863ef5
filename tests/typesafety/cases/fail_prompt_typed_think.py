from ts_common import count, lookup, triage

from composable_agents import think

flow = lookup >> count >> think(triage)  # E: Argument 1 to "think" has incompatible type "Reasoner[Query, Routine]"
