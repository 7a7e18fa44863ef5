from ts_common import lookup, total

from composable_agents import arr

flow = lookup >> arr(total)  # E: Argument 1 to "arr" has incompatible type "Pure[list[int], int]"
