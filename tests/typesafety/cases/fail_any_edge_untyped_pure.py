from composable_agents import pure
from ts_common import count


@pure("ts.scale")
def scale(value: int, factor: int) -> int:
    return value * factor


flow = count >> scale  # E: [any-edge]
