from typing import Any

from ts_common import render, shout

from composable_agents import call
from composable_agents.typed import Pipeline

# 30 levels of right-nested composition around an Any-typed step: the join
# stays exact, and checking stays linear in the depth (a regression here is
# exponential and times this corpus out).
flow: Pipeline[int, Any] = render >> (shout >> (shout >> (shout >> (shout >> (shout >> (shout >> (shout >> (shout >> (shout >> (shout >> (shout >> (shout >> (shout >> (shout >> (shout >> (shout >> (shout >> (shout >> (shout >> (shout >> (shout >> (shout >> (shout >> (shout >> (shout >> (shout >> (shout >> (shout >> (shout >> (shout >> call("audit")))))))))))))))))))))))))))))))  # type: ignore[any-edge]
