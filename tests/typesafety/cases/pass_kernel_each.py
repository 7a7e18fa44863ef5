from ts_common import Query, count, file_ticket, lookup, total

from composable_agents import Dataflow, arr, call, each, flow

# Building a node: typed like typed.each (floor Dataflow).
per_item: Dataflow[list[list[str]], list[int]] = each(count, max_parallel=4)
folded: Dataflow[list[list[str]], int] = each(count, reducer=total)
untyped = each(call("fetch")) >> arr("ts.concat")  # two untyped sides: no any-edge


# Inside a @flow body: the list of the body's outputs (or the reducer's output).
@flow
def hits_per_query(queries: list[Query]) -> list[list[str]]:
    return each(lookup, queries)


@flow
def total_hits(batches: list[list[str]]) -> int:
    return each(count, batches, reducer=total)


@flow
def file_all(titles: list[str], priority: int) -> list[str]:
    return each(file_ticket, titles, priority=priority)  # captures: the body takes a record
