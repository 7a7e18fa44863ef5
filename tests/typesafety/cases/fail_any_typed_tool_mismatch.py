from typing import Any

from ts_common import count, lookup

from composable_agents import tool


@tool(effect="read")
def load(row: dict[str, Any]) -> dict[str, Any]:
    return row


flow = lookup >> count >> load  # E: Unsupported operand types for >>
