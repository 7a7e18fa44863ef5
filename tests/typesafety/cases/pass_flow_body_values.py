from ts_common import Query, count, lookup, render


def body(query: Query) -> str:
    # Inside a @flow body steps type-check as if they ran on values.
    return render(count(lookup(query), retries=2))
