"""Shim: derived combinators (race family, human gate, fan-out patterns)."""

from composable_agents.authoring.derived import *
from composable_agents.authoring.derived import __all__ as __all__  # noqa: PLC0414
