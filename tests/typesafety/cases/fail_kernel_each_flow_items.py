from ts_common import Query, count

from composable_agents import each, flow


@flow
def counts(queries: list[Query]) -> list[int]:
    return each(count, queries)  # E: Cannot infer value of type parameter
