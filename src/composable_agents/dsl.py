"""Shim: the structural combinators of the kernel and the ``Contract`` helpers."""

from composable_agents.authoring.kernel import (
    ToolRef,
    alt,
    app,
    arr,
    call,
    each,
    fanout,
    ident,
    iter_up_to,
    mcp,
    native,
    par,
    seq,
    stage,
    sub,
    think,
)
from composable_agents.core.ir import Contract

__all__ = [
    "seq",
    "par",
    "fanout",
    "each",
    "alt",
    "iter_up_to",
    "ident",
    "arr",
    "native",
    "mcp",
    "call",
    "think",
    "sub",
    "stage",
    "app",
    "ToolRef",
    "Contract",
]
