"""An agent that may call lookup_ticket or run triage.v1 (so it depends on triage)."""

from __future__ import annotations

from composable_agents import Agent
from support.flows import triage
from support.tools import lookup_ticket

helper = Agent("helper", tools=[lookup_ticket], subflows=[triage], max_rounds=3, tags=("support",))
