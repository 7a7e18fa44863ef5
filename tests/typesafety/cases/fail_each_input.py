from ts_common import count

from composable_agents import deploy, typed

words: list[str] = ["a", "b"]
result = deploy(typed.each(count)).dry_run(words)  # E: Argument 1 to "dry_run" of "Deployment" has incompatible type "list[str]"
