from ts_common import Query, count, lookup, total

query: Query = {"q": "refund"}
hits: list[str] = lookup(query)
n: int = count(hits, retries=3, timeout_s=2.5, retry_interval_s=0.5, backoff_rate=2.0, name="count_hits")
s: int = total([1, 2, 3])
