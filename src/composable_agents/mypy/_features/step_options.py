"""Step options on tool calls whose static signature cannot declare them.

Inside a ``@flow`` body every tool call accepts the step options ``name=``,
``retries=``, ``retry_interval_s=``, ``backoff_rate=`` and ``timeout_s=``
(SPEC §4). ``Tool.__call__`` declares them, but a multi-parameter tool is a
``RecordTool[P, O]`` whose call is ``(*args: P.args, **kwargs: P.kwargs)``:
PEP 612 cannot add keyword parameters to a ``ParamSpec`` signature. This
method-signature hook appends the options that are missing (as keyword-only,
optional parameters) to the signature mypy has already expanded.

A signature with ``**kwargs`` already accepts them; a body parameter of the
same name wins (the runtime passes it to the body). The keyword-only
``idempotency_key``/``principal`` parameters the runtime fills become
optional, as in ``KeyedTool.__call__`` (a direct call may still pass them).
"""

from __future__ import annotations

from mypy.nodes import ARG_NAMED, ARG_NAMED_OPT, ARG_STAR2
from mypy.plugin import MethodSigContext
from mypy.types import CallableType, NoneType, Type, UnionType

from composable_agents.mypy import _consts

__all__ = ["hook"]


def _option_type(ctx: MethodSigContext, builtin: str) -> Type:
    return UnionType.make_union([ctx.api.named_generic_type(builtin, []), NoneType()])


def hook(ctx: MethodSigContext) -> CallableType:
    """``ctx.default_signature`` with the missing step options appended (``X | None = None``)."""
    sig = ctx.default_signature
    if ARG_STAR2 in sig.arg_kinds:
        return sig
    kinds = [
        ARG_NAMED_OPT if kind == ARG_NAMED and name in _consts.RUNTIME_PARAMS else kind
        for kind, name in zip(sig.arg_kinds, sig.arg_names, strict=True)
    ]
    if kinds != sig.arg_kinds:
        sig = sig.copy_modified(arg_kinds=kinds)
    present = {n for n in sig.arg_names if n is not None}
    missing = [(n, t) for n, t in _consts.STEP_OPTION_TYPES if n not in present]
    if not missing:
        return sig
    return sig.copy_modified(
        arg_types=[*sig.arg_types, *(_option_type(ctx, t) for _, t in missing)],
        arg_kinds=[*sig.arg_kinds, *(ARG_NAMED_OPT for _ in missing)],
        arg_names=[*sig.arg_names, *(n for n, _ in missing)],
    )
