from collections.abc import Mapping
from typing import Any

from ts_common import Query, count, file_ticket, lookup, render, total

from composable_agents import Pipeline, arr, call, native

# call(@tool) and arr(@pure) keep the leaf's ends (a name or ref: Any ends).
step: Pipeline[Query, list[str]] = call(lookup)
chain: Pipeline[Query, str] = call(lookup) >> count >> call(render)
record: Pipeline[Mapping[str, Any], str] = call(file_ticket)
folded: Pipeline[list[int], int] = arr(total)
by_name = call("audit") >> arr("std.merge")  # untyped on both sides: no any-edge
by_ref = call(native("audit"))
