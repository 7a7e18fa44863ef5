from typing import Any

from ts_common import Query, lookup

from composable_agents import call
from composable_agents.typed import Pipeline

# With the plugin the join stays exact (no silent Any) even with an Any-typed step.
flow: Pipeline[Query, Any] = lookup >> call("audit")  # type: ignore[any-edge]
