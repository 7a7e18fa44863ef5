from ts_common import Urgent, page, summarize

from composable_agents import expect, think
from composable_agents.typed import Pipeline

flow: Pipeline[object, str] = expect(think(summarize), Urgent) >> page
