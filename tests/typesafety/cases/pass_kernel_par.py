from ts_common import Query, count, lookup

from composable_agents import Dataflow, arr, call, fanout, par

# par's JSON list is typed as a flat tuple (as typed.fanout), floor Dataflow.
both: Dataflow[Query, tuple[list[str], int]] = par(lookup, lookup >> count)
same: Dataflow[Query, tuple[list[str], int]] = fanout(lookup, lookup >> count)
one: Dataflow[Query, tuple[list[str]]] = par(lookup)
untyped = par(call("a"), call("b")) >> arr("std.merge")  # untyped on both sides: no any-edge
wide = par(call("a"), call("b"), call("c"), call("d"), call("e"), call("f"))  # beyond 5: Arrow[Any, Any]
