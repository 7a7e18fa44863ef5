from ts_common import file_ticket

from composable_agents import flow


@flow
def open_ticket(title: str, priority: int) -> str:
    # A record tool takes the step options too (the plugin appends them).
    return file_ticket(title, priority, retries=2, timeout_s=5)


@flow
def open_named(title: str, priority: int) -> str:
    return file_ticket(
        title=title, priority=priority, name="file", retry_interval_s=0.5, backoff_rate=2.0
    )
