from ts_common import file_ticket

from composable_agents import flow


@flow
def open_ticket(title: str, priority: int) -> str:
    return file_ticket(title, priority, retries="x")  # E: Argument "retries" to "__call__" of "RecordTool" has incompatible type "str"
