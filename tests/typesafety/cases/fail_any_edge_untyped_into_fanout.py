from typing import Any

from ts_common import count

from composable_agents import call
from composable_agents.typed import Dataflow

flow: Dataflow[Any, tuple[int, int]] = call("hits") >> (count & count)  # E: [any-edge]
