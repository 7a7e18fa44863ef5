from ts_common import count, render, total

from composable_agents import typed
from composable_agents.typed import Dataflow

per_item: Dataflow[list[list[str]], list[int]] = typed.each(count)
reduced: Dataflow[list[list[str]], int] = typed.each(count, reducer=total)
then: Dataflow[list[list[str]], str] = typed.each(count, reducer=total) >> render
