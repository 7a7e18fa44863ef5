from ts_common import Query, count, lookup

from composable_agents import deploy

query: Query = {"q": "refund"}
n: str = deploy(lookup >> count).dry_run(query).value  # E: Incompatible types in assignment
