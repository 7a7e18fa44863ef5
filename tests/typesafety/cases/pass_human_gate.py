from ts_common import Query, count, lookup, render

from composable_agents import Pipeline, human_gate, seq

# An approval passes the input through: the gate takes the type that reaches it,
# and neither edge around it is an any-edge.
flow: Pipeline[Query, str] = lookup >> human_gate("ok?", timeout_s=60) >> count >> render
gate_first: Pipeline[list[str], int] = human_gate("ok?") >> count
gate_last: Pipeline[Query, list[str]] = lookup >> human_gate("ok?")
kernel = seq(lookup, human_gate("ok?"), count)
