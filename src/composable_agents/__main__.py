"""``python -m composable_agents``: the ``ca`` command line."""

from composable_agents.cli.app import main

__all__ = ["main"]

if __name__ == "__main__":
    main()
