"""Shim (seed module name): sessions (authoring and the local backend); the code lives in ``composable_agents.agents.sessions`` and ``composable_agents.execution.sessions``."""

from __future__ import annotations

from composable_agents.agents.sessions import (
    check_channel_placement, emit, loop, open_session, recv, scan, session, validate_session,
)
from composable_agents.execution.sessions import (
    DEFAULT_CAPACITY, Closed, Emit, Error, SessionEvent, SessionHandle, Turn, TurnContext,
)

__all__ = [
    "check_channel_placement", "emit", "loop", "open_session", "recv", "scan", "session",
    "validate_session", "DEFAULT_CAPACITY", "Closed", "Emit", "Error", "SessionEvent",
    "SessionHandle", "Turn", "TurnContext",
]
