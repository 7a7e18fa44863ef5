"""A flow whose second step waits for a file: shows that `ca run` prints the first step before the run ends.

Not in the project's modules (so `ca ls` does not list it): load it with `-m support.slow`.
"""

from __future__ import annotations

import os
import time

from composable_agents import tool


@tool(effect="read", idempotent=True)
def first_step(path: str) -> str:
    """Pass the path on."""
    return path


@tool(effect="read", idempotent=True)
def wait_for_file(path: str) -> str:
    """Return once ``path`` exists (at most 30 s)."""
    deadline = time.monotonic() + 30
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise TimeoutError(path)
        time.sleep(0.02)
    return "released"


slow = (first_step >> wait_for_file).named("slow.v1")
