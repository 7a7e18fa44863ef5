from collections.abc import Mapping
from typing import Any

from ts_common import file_ticket

from composable_agents.typed import Pipeline

ticket: str = file_ticket("printer on fire", 1)
as_arrow: Pipeline[Mapping[str, Any], str] = file_ticket
