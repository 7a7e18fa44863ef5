from typing import Any

from composable_agents import stage
from composable_agents.typed import Feedback

planned: Feedback[Any, Any] = stage("planner")  # E: Incompatible types in assignment
