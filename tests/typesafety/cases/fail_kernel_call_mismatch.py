from ts_common import lookup, render

from composable_agents import call

flow = lookup >> call(render)  # E: Argument 1 to "call" has incompatible type "Tool[int, str]"
