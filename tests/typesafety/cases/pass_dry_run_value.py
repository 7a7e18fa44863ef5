from composable_agents import deploy
from ts_common import Query, count, lookup

query: Query = {"q": "refund"}
n: int = deploy(lookup >> count).dry_run(query).value
