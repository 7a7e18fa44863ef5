from ts_common import count, lookup

from composable_agents import deploy

result = deploy(lookup >> count).dry_run("refund")  # E: Argument 1 to "dry_run" of "Deployment" has incompatible type "str"
