from ts_common import count

from composable_agents import pure


@pure("ts.scale")
def scale(value: int, factor: int) -> int:
    return value * factor


flow = count >> scale  # E: [any-edge]
