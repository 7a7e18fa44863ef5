"""Shim: the structural combinators of the kernel and the ``Contract`` helpers."""

from composable_agents.authoring.kernel import (
    ToolRef, alt, app, arr, call, each, fanout, ident, iter_up_to, mcp, native, par, seq, stage, sub,
    think,
)
from composable_agents.core.ir import Contract

__all__ = [
    "Contract", "ToolRef", "alt", "app", "arr", "call", "each", "fanout", "ident", "iter_up_to",
    "mcp", "native", "par", "seq", "stage", "sub", "think",
]
