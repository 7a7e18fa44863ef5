"""Shim (seed module name): ``.ctx`` reasoner definitions; the code lives in ``composable_agents.authoring.dotctx``."""

from __future__ import annotations

from composable_agents.authoring.dotctx import (
    CtxError,
    load_reasoner,
    parse_ctx,
    reasoner_from_ctx,
)

__all__ = ["CtxError", "load_reasoner", "parse_ctx", "reasoner_from_ctx"]
