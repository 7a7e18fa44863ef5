"""Shim: the define-by-construction ``@flow`` frontend (see ``authoring.flow``)."""

from composable_agents.authoring.flow import (
    MAX_CONSTANT_BYTES,
    STEP_OPTIONS,
    Flow,
    Handle,
    cond,
    flow,
    reschedule,
    switch,
    switch_on,
)
from composable_agents.authoring.kernel import each
from composable_agents.authoring.leaves import think
from composable_agents.errors import DefineError

__all__ = [
    "MAX_CONSTANT_BYTES",
    "STEP_OPTIONS",
    "DefineError",
    "Flow",
    "Handle",
    "cond",
    "each",
    "flow",
    "reschedule",
    "switch",
    "switch_on",
    "think",
]
