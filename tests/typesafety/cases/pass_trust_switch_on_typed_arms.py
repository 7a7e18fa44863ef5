from ts_common import Routine, Urgent, enqueue, page

from composable_agents import flow, switch_on


@flow
def route(ticket: Urgent | Routine) -> str | int:
    return switch_on(ticket, key="kind", cases={"urgent": page, "routine": enqueue})
