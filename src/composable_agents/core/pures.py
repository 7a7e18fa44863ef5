"""Registered pures and the registry of named things.

A *pure* is a named, deterministic function ``fn(value, **args)``. Its identity
in an artifact is its name plus a **source hash** (sha256 over its dedented
source, or over its code object when no source is available), pinned at
deploy and re-checked by every worker before a run: a changed body is drift,
never a silent behaviour change.

:class:`Registry` holds pures, tools, reasoners and named flows. One
process-wide :data:`DEFAULT_REGISTRY` backs the decorators; tests and
embedders may build their own. Rejected alternative: module-level dicts per
kind — a registry object makes isolation (tests, workers hosting several
deployments) a constructor call.
"""

from __future__ import annotations

import hashlib
import inspect
import textwrap
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from composable_agents.errors import DuplicateToolError, PureDriftError, RegistryError

if TYPE_CHECKING:
    from composable_agents.authoring.arrow import Arrow
    from composable_agents.authoring.leaves import Reasoner, ToolDef

__all__ = ["DEFAULT_REGISTRY", "PureDef", "Registry", "check_pins", "register_pure", "source_hash"]


def source_hash(fn: Callable[..., Any]) -> str:
    """``sha256:`` over ``fn``'s dedented source (or its code object as a fallback)."""
    target = inspect.unwrap(fn)
    try:
        text = textwrap.dedent(inspect.getsource(target))
        data = text.encode("utf-8")
    except (OSError, TypeError):
        code = getattr(target, "__code__", None)
        if code is None:
            data = repr(target).encode("utf-8")
        else:
            data = code.co_code + repr(code.co_consts).encode("utf-8") + repr(code.co_names).encode("utf-8")
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _is_name(value: object) -> bool:
    return isinstance(value, str) and bool(value)


def _accepts_args(fn: Callable[..., Any]) -> bool:
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return True
    return len(params) > 1 or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


def _boundary_types(fn: Callable[..., Any]) -> tuple[object, object]:
    try:
        hints = inspect.get_annotations(fn, eval_str=True)
    except Exception:  # an unresolvable annotation makes the boundary untyped, not an error  # noqa: BLE001 - an unresolvable annotation makes the boundary untyped
        hints = {}
    try:
        params = [
            p
            for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        params = []
    in_type = hints.get(params[0].name, Any) if params else Any
    return in_type, hints.get("return", Any)


@dataclass(frozen=True, slots=True)
class PureDef:
    """A registered pure: ``fn(value, **args)`` with a pinned source hash.

    ``in_type`` / ``out_type`` are the annotations of the first parameter and
    the return (``Any`` when absent); they give the pure's boundary schemas.
    """

    name: str
    fn: Callable[..., Any]
    source_hash: str
    in_type: object = Any
    out_type: object = Any
    takes_args: bool = True
    std: bool = False


@dataclass(slots=True, eq=False)
class Registry:
    """Named pures, tools, reasoners and flows.

    Pure names are global identifiers: registering a different body under a
    taken name raises :class:`RegistryError` (pass ``replace=True`` to mean
    it). Tools, reasoners and named flows are last-registration-wins, since
    ``deploy`` freezes exactly what it was given.
    """

    pures: dict[str, PureDef] = field(default_factory=dict)
    tools: dict[str, ToolDef] = field(default_factory=dict)
    reasoners: dict[str, Reasoner[Any, Any]] = field(default_factory=dict)
    flows: dict[str, Arrow[Any, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def register_pure(
        self,
        name: str,
        fn: Callable[..., Any],
        *,
        replace: bool = False,
        std: bool = False,
    ) -> PureDef:
        """Register ``fn`` as the pure ``name`` and return its definition."""
        if not _is_name(name):
            msg = f"`name` must be a non-empty string, got {name!r}"
            raise RegistryError(msg)
        if not callable(fn):  # type: ignore[redundant-expr,unused-ignore]
            msg = f"`fn` for pure {name!r} must be callable, got {fn!r}"  # type: ignore[unreachable,unused-ignore]
            raise RegistryError(msg)
        in_type, out_type = _boundary_types(fn)
        definition = PureDef(
            name=name,
            fn=fn,
            source_hash=source_hash(fn),
            in_type=in_type,
            out_type=out_type,
            takes_args=_accepts_args(fn),
            std=std,
        )
        with self._lock:
            existing = self.pures.get(name)
            if existing is not None and not replace and existing.source_hash != definition.source_hash:
                msg = (
                    f"pure {name!r} is already registered with a different body "
                    f"({existing.source_hash[:19]}...); pick a new name or pass replace=True"
                )
                raise RegistryError(msg)
            self.pures[name] = definition
        return definition

    def pure(self, name: str) -> PureDef:
        """The registered pure ``name``; :class:`RegistryError` if absent."""
        found = self.pures.get(name)
        if found is None:
            from composable_agents.core.std import STD_PURES

            found = STD_PURES.get(name)
            if found is None:
                msg = f"no pure named {name!r} is registered"
                raise RegistryError(msg)
        return found

    def has_pure(self, name: str) -> bool:
        """True when ``name`` is registered here or is a std pure."""
        from composable_agents.core.std import STD_PURES

        return name in self.pures or name in STD_PURES

    def register_tool(self, tool: ToolDef, *, replace: bool = False) -> ToolDef:
        """Register a tool definition under its key.

        A second tool with a body declared elsewhere under a key this registry
        already holds raises :class:`DuplicateToolError` naming both places
        (SPEC §22.10), so ``deploy`` never silently runs the later body;
        re-running the same declaration (a module reload, a notebook cell)
        replaces it, and ``replace=True`` replaces on purpose.
        """
        with self._lock:
            existing = self.tools.get(tool.key)
            if existing is not None and not replace:
                first, second = _origin(existing.fn), _origin(tool.fn)
                if first is not None and second is not None and first[:2] != second[:2]:
                    msg = (
                        f"tool {tool.key!r} is declared twice: first at {first[2]}, again at {second[2]}; "
                        "rename one (@tool(name=...)) or pass replace=True to replace it on purpose"
                    )
                    raise DuplicateToolError(msg)
            self.tools[tool.key] = tool
        return tool

    def register_reasoner(self, reasoner: Reasoner[Any, Any]) -> Reasoner[Any, Any]:
        """Register a reasoner definition under its name."""
        with self._lock:
            self.reasoners[reasoner.name] = reasoner
        return reasoner

    def register_flow(self, ref: str, flow: Arrow[Any, Any]) -> Arrow[Any, Any]:
        """Register a named flow so ``sub(ref)`` can reach it."""
        with self._lock:
            self.flows[ref] = flow
        return flow

    def copy(self) -> Registry:
        """A shallow copy (new dicts, same definitions)."""
        return Registry(
            pures=dict(self.pures),
            tools=dict(self.tools),
            reasoners=dict(self.reasoners),
            flows=dict(self.flows),
        )


DEFAULT_REGISTRY: Final = Registry()
"""The process-wide registry the decorators write to."""


def _origin(fn: Callable[..., Any] | None) -> tuple[str, str, str] | None:
    """``(source file, qualname, "file:line")`` of a tool body (``None`` for tools without one).

    One declaration is one place in one file: re-running it (a reload, ``runpy``, a
    notebook cell, a module imported under two names) is the same tool.
    """
    if fn is None:
        return None
    code = getattr(fn, "__code__", None)
    if code is None:
        return (str(getattr(fn, "__module__", "")), str(getattr(fn, "__qualname__", repr(fn))), "?")
    where = f"{code.co_filename.rsplit('/', 1)[-1]}:{code.co_firstlineno}"
    return (code.co_filename, str(getattr(fn, "__qualname__", code.co_name)), where)


def register_pure(name: str, fn: Callable[..., Any], *, replace: bool = False) -> PureDef:
    """Register ``fn`` as the pure ``name`` in :data:`DEFAULT_REGISTRY`."""
    return DEFAULT_REGISTRY.register_pure(name, fn, replace=replace)


def check_pins(pins: Mapping[str, str], registry: Registry, recorded: Mapping[str, str] | None = None) -> None:
    """Raise :class:`PureDriftError` naming every pinned pure whose body is not the one deployed.

    ``pins`` maps pure names to the source hashes frozen at deploy. Each is
    compared with the pure ``registry`` holds **now** (a pure replaced with
    ``replace=True`` after deploy, or after a worker started, is drift) and,
    when given, with ``recorded`` (the hashes a worker took at start-up).
    Local runs and workers call this before the first step (SPEC §22.4).
    """
    problems: list[str] = []
    for name, pinned in sorted(pins.items()):
        if not registry.has_pure(name):
            problems.append(f"{name!r} is not registered here (pinned {pinned[:19]}...)")
            continue
        have = registry.pure(name).source_hash
        if have != pinned:
            problems.append(f"{name!r} has source {have[:19]}... now but {pinned[:19]}... was pinned at deploy")
        elif recorded is not None and recorded.get(name, pinned) != pinned:
            problems.append(f"{name!r} was {recorded[name][:19]}... when this worker started, not the pinned {pinned[:19]}...")
    if problems:
        msg = (
            "pure drift: " + "; ".join(problems)
            + ". Run the same pure code that was deployed, or redeploy the flow against the current code."
        )
        raise PureDriftError(msg)
