from composable_agents import deploy
from ts_common import count, lookup

result = deploy(lookup >> count).dry_run("refund")  # E: Argument 1 to "dry_run" of "Deployment" has incompatible type "str"
