"""Shim (seed module name): the Temporal worker; the code lives in ``composable_agents.temporal.worker``."""

from __future__ import annotations

from composable_agents.temporal.worker import (
    PASSTHROUGH_MODULES,
    WORKFLOWS,
    HeartbeatInterceptor,
    build_replayer,
    build_worker,
    import_modules,
    run_worker,
    workflow_runner,
)

__all__ = [
    "PASSTHROUGH_MODULES",
    "WORKFLOWS",
    "HeartbeatInterceptor",
    "build_replayer",
    "build_worker",
    "import_modules",
    "run_worker",
    "workflow_runner",
]
