from composable_agents import expect, think
from composable_agents.typed import Pipeline
from ts_common import Urgent, page, summarize

flow: Pipeline[object, str] = expect(think(summarize), Urgent) >> page
