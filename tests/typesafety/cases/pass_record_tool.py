from collections.abc import Mapping
from typing import Any

from composable_agents.typed import Pipeline
from ts_common import file_ticket

ticket: str = file_ticket("printer on fire", 1)
as_arrow: Pipeline[Mapping[str, Any], str] = file_ticket
