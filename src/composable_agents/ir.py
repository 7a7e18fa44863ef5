"""Shim: the canonical IR — nodes, steps, annotations and the JSON codec (see ``core.ir``/``core.codec``)."""

from composable_agents.core.codec import (
    MAX_DOCUMENT_BYTES, MAX_NODE_DEPTH, MAX_NODES, decode, encode, normalize, walk,
)
from composable_agents.core.ir import (
    IR_FORMAT_VERSION, RESERVED_TOOLS, Alt, Ann, App, Arr, CallStep, ContextPolicy, Contract, Each,
    EvalPlan, Ident, IterUpTo, Loop, Node, Par, Prim, PureRef, Seq, SourceLoc, Step, SubStep, ThinkStep,
)
from composable_agents.errors import IRDecodeError

__all__ = [
    "IR_FORMAT_VERSION", "MAX_DOCUMENT_BYTES", "MAX_NODES", "MAX_NODE_DEPTH", "RESERVED_TOOLS",
    "Alt", "Ann", "App", "Arr", "CallStep", "ContextPolicy", "Contract", "Each", "EvalPlan",
    "IRDecodeError", "Ident", "IterUpTo", "Loop", "Node", "Par", "Prim", "PureRef", "Seq",
    "SourceLoc", "Step", "SubStep", "ThinkStep", "decode", "encode", "normalize", "walk",
]
