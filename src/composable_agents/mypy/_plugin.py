"""The plugin class: a thin dispatcher from fully qualified names to feature hooks."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Final, final

from mypy.nodes import TypeInfo
from mypy.options import Options
from mypy.plugin import (
    FunctionContext,
    FunctionSigContext,
    MethodContext,
    MethodSigContext,
    Plugin,
    ReportConfigContext,
)
from mypy.types import FunctionLike, Type

from composable_agents.mypy import _arrows, _consts
from composable_agents.mypy._features import any_edge, join, leaf_decorators, step_options, switch


def _source_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


_DIGEST: Final = _source_digest()
"""Reported to mypy's cache so an edited plugin invalidates cached results."""


@final
class ComposableAgentsPlugin(Plugin):
    """Dispatches operator and combinator calls on our arrow classes to the feature modules.

    Method hooks are named by the *left operand's* class (a ``Tool``, a user
    subclass, ...), so classes are matched by MRO and the answer cached.
    """

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self._is_arrow: dict[str, int] = {}
        self._is_tool: dict[str, bool] = {}

    def report_config_data(self, ctx: ReportConfigContext) -> str:
        del ctx
        return _DIGEST

    def _arrow_rank(self, class_fullname: str) -> int:
        cached = self._is_arrow.get(class_fullname)
        if cached is not None:
            return cached
        sym = self.lookup_fully_qualified(class_fullname)
        rank = -1
        if sym is not None and isinstance(sym.node, TypeInfo):
            rank = _arrows.shape_rank(sym.node)
            self._is_arrow[class_fullname] = rank  # only cache once the class is known
        return rank

    def _tool_class(self, class_fullname: str) -> bool:
        cached = self._is_tool.get(class_fullname)
        if cached is not None:
            return cached
        sym = self.lookup_fully_qualified(class_fullname)
        if sym is None or not isinstance(sym.node, TypeInfo):
            return False
        found = any(base.fullname == _consts.TOOL for base in sym.node.mro)
        self._is_tool[class_fullname] = found  # only cache once the class is known
        return found

    def _operator(self, fullname: str) -> tuple[str, str] | None:
        cls, _, method = fullname.rpartition(".")
        if method not in _consts.OPERATOR_FLOORS or self._arrow_rank(cls) < 0:
            return None
        return cls, method

    def get_method_hook(self, fullname: str) -> Callable[[MethodContext], Type] | None:
        op = self._operator(fullname)
        if op is not None and op[1] == _consts.RSHIFT:
            return partial(any_edge.operator_hook, lookup=self.lookup_fully_qualified)
        return None

    def get_method_signature_hook(
        self, fullname: str
    ) -> Callable[[MethodSigContext], FunctionLike] | None:
        if fullname in _consts.TOOL_DECORATORS:
            return leaf_decorators.tool_hook
        if fullname in _consts.PURE_DECORATORS:
            return leaf_decorators.pure_hook
        cls, _, method = fullname.rpartition(".")
        if method == _consts.CALL and self._tool_class(cls):
            return step_options.hook
        op = self._operator(fullname)
        if op is None:
            return None
        return join.operator_signature_hook(_consts.OPERATOR_FLOORS[op[1]])

    def get_function_hook(self, fullname: str) -> Callable[[FunctionContext], Type] | None:
        if fullname in _consts.SEQUENCES:
            return partial(any_edge.sequence_hook, lookup=self.lookup_fully_qualified)
        return None

    def get_function_signature_hook(
        self, fullname: str
    ) -> Callable[[FunctionSigContext], FunctionLike] | None:
        if fullname in _consts.TOOL_DECORATORS:
            return leaf_decorators.tool_hook
        if fullname in _consts.PURE_DECORATORS:
            return leaf_decorators.pure_hook
        if fullname in _consts.SWITCHES:
            return switch.switch_hook
        floor = _consts.FUNCTION_FLOORS.get(fullname)
        if floor is None:
            return None
        return join.function_signature_hook(
            floor,
            _consts.MAX_ARITY.get(fullname),
            builders_only=fullname in _consts.BUILDERS_ONLY,
        )


def plugin(version: str) -> type[Plugin]:
    """mypy's entry point (``plugins = composable_agents.mypy``)."""
    del version
    return ComposableAgentsPlugin
