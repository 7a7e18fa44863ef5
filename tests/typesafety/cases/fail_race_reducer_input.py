from ts_common import count, lookup

from composable_agents import pure, race


@pure("ts.first_len")
def first_len(xs: list[str]) -> int:
    return len(xs[0])


flow = race(lookup >> count, lookup >> count, reduce=first_len)  # E: Cannot infer value of type parameter "_O" of "race"
