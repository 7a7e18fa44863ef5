from composable_agents import deploy, typed
from ts_common import count

words: list[str] = ["a", "b"]
result = deploy(typed.each(count)).dry_run(words)  # E: Argument 1 to "dry_run" of "Deployment" has incompatible type "list[str]"
