from ts_common import lookup, shout

from composable_agents import human_gate, seq

flow = seq(lookup, human_gate("ok?"), shout)  # E: Incompatible step after human_gate
