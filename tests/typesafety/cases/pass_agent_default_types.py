from typing import Any

from ts_common import lookup

from composable_agents import Agent

# Nothing in the constructor binds Agent's type parameters: they default to Any
# (as its run-time in_type/out_type), so no annotation is needed.
agent = Agent("ts.agent", tools=[lookup], max_rounds=3)
same: Agent[Any, Any] = agent
