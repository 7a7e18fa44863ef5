from ts_common import Routine, Urgent, enqueue, page

from composable_agents import flow, human_gate
from composable_agents.typed import as_flow


@flow
def route(ticket: Urgent | Routine) -> str | int:
    checked = human_gate(ticket, prompt="route it?", timeout_s=60)
    return (page | enqueue)(checked)


@flow
def route_again(ticket: Urgent | Routine) -> str | int:
    return as_flow(page | enqueue)(ticket)
