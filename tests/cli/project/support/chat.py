"""A session: counts the turns and echoes each message."""

from __future__ import annotations

from composable_agents import session


@session(name="echo")
def echo(msg: str, count: int = 0) -> str:
    count += 1
    return f"#{count}: {msg}"
