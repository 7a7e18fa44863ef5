from typing import Any

from composable_agents import app
from composable_agents.typed import Feedback


def needs_feedback(flow: Feedback[Any, Any]) -> None:
    del flow


needs_feedback(app("support_controller", tools=["search"]))  # E: expected "Feedback[Any, Any]"
