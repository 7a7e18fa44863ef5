"""The pytest plugin of the testing kit (``pytest11`` entry point ``composable_agents``)."""

__all__: list[str] = []
