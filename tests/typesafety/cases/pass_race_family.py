from ts_common import Query, count, lookup, render, total

from composable_agents import Dataflow, arr, call, hedge, map_n, quorum, race, vote

a = lookup >> count
b = lookup >> count

# Same-typed branches: race/hedge/vote give the branches' output, quorum and map_n a list.
first: Dataflow[Query, str] = race(a, b) >> render
hedged: Dataflow[Query, int] = hedge(a, b, hedge_ms=250)
settled: Dataflow[Query, list[int]] = quorum(a, b, a, k=2)
summed: Dataflow[Query, int] = quorum(a, b, k=2, reduce=total)
folded: Dataflow[Query, int] = race(a, b, reduce=total)  # a reducer gets the settled values' list
sampled: Dataflow[Query, list[int]] = map_n(a, 3)
voted: Dataflow[Query, int] = vote(a, b, a)
untyped = race(call("x"), call("y")) >> arr("std.pluck", key="k")  # untyped on both sides
