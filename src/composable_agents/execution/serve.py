"""Shim (old path): ``python -m composable_agents.execution.serve``; the code lives in ``composable_agents.temporal.serve``."""

from __future__ import annotations

from composable_agents.temporal.serve import main

__all__ = ["main"]

if __name__ == "__main__":
    main()
