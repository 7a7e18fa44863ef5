"""Project discovery: the config, the modules, and the entries they define (the cross-agent DAG).

The project is the nearest ``pyproject.toml`` (from ``--path`` or the working
directory, walking up) that has a ``[tool.composable-agents]`` table::

    [tool.composable-agents]
    modules = ["support.flows", "support.agents"]
    capabilities = "capabilities.yaml"
    ledger = ".ca/ledger.json"
    store = "sqlite:///.ca/traces.db"

``-m MODULE`` (repeatable) replaces ``modules``. Importing the modules
registers their tools, pures and reasoners; every module-level ``@flow``,
``Agent``, session and named arrow becomes an :class:`Entry` with a name,
kind, shape, tags and dependencies: the sub-flows and agents it references
(``sub(ref)``, an agent's ``subflows``) and the entries it inlines (found by
content hash, since an inlined flow leaves no name in the IR).

Rejected: scanning files for decorators without importing them (a flow is a
value built at import time; only the imported object knows its IR).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from composable_agents.cli.console import USAGE, abort
from composable_agents.errors import ComposableAgentsError

__all__ = ["CONFIG_TABLE", "Entry", "Project", "ProjectConfig", "find_config", "load_project"]

CONFIG_TABLE = "composable-agents"
"""The ``[tool.<name>]`` table ``ca`` reads from ``pyproject.toml``."""


@dataclass(frozen=True, slots=True)
class ProjectConfig:
    """Where the project is and what it says: module names, capabilities, ledger and store."""

    root: Path
    modules: tuple[str, ...]
    capabilities: Path | None = None
    ledger: Path = Path(".ca/ledger.json")
    store: str = "sqlite:///.ca/traces.db"
    pyproject: Path | None = None

    @property
    def state_dir(self) -> Path:
        """``<root>/.ca``: the ledger, the trace store and ``dev.json`` live here."""
        return self.root / ".ca"


def _nearest_pyproject(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            try:
                doc = tomllib.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, tomllib.TOMLDecodeError) as exc:
                abort(f"cannot read {candidate}: {exc}", USAGE)
            if CONFIG_TABLE in doc.get("tool", {}):
                return candidate
    return None


def find_config(path: str | os.PathLike[str] | None = None, modules: Sequence[str] = ()) -> ProjectConfig:
    """The project config found from ``path`` (default: the working directory), with ``modules`` overriding."""
    start = Path(path).resolve() if path is not None else Path.cwd()
    if path is not None and not start.is_dir():
        abort(f"--path {path}: not a directory", USAGE)
    pyproject = _nearest_pyproject(start)
    if pyproject is None:
        if not modules:
            abort(
                f"no project found: no pyproject.toml with [tool.{CONFIG_TABLE}] in {start} or above; "
                "add one, or name modules with -m MODULE",
                USAGE,
            )
        return ProjectConfig(root=start, modules=tuple(modules))
    table = tomllib.loads(pyproject.read_text(encoding="utf-8"))["tool"][CONFIG_TABLE]
    root = pyproject.parent
    listed = table.get("modules", [])
    if not isinstance(listed, list) or not all(isinstance(m, str) for m in listed):
        abort(f"{pyproject}: [tool.{CONFIG_TABLE}] modules must be a list of module names", USAGE)
    caps = table.get("capabilities")
    return ProjectConfig(
        root=root,
        modules=tuple(modules) or tuple(listed),
        capabilities=(root / caps) if isinstance(caps, str) else None,
        ledger=root / table.get("ledger", ".ca/ledger.json"),
        store=str(table.get("store", "sqlite:///.ca/traces.db")),
        pyproject=pyproject,
    )


@dataclass(slots=True)
class Entry:
    """One discovered flow, agent, session or named arrow."""

    name: str
    kind: str
    shape: str
    tags: tuple[str, ...]
    module: str
    obj: Any = field(repr=False)
    dependencies: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The entry as ``ca ls --format json`` prints it."""
        return {
            "name": self.name,
            "kind": self.kind,
            "shape": self.shape,
            "tags": list(self.tags),
            "dependencies": list(self.dependencies),
            "module": self.module,
        }


def _kind(obj: Any) -> str | None:
    """The entry kind of a module attribute, or ``None`` when it is not an entry."""
    from composable_agents.agents.agent import Agent
    from composable_agents.authoring.arrow import Arrow
    from composable_agents.authoring.flow import Flow
    from composable_agents.authoring.leaves import Pure, Think, Tool
    from composable_agents.core.ir import Loop

    if isinstance(obj, Agent):
        return "agent" if obj.ref is not None else None
    if not isinstance(obj, Arrow) or (isinstance(obj, Tool | Pure | Think) and obj.ref is None):
        return None  # a bare @tool/@pure/think leaf is a step, not an entry (unless it was given a name)
    if isinstance(obj.to_ir(), Loop):
        return "session"
    if isinstance(obj, Flow):
        return "flow"
    return "arrow" if obj.ref is not None else None


def _tags(obj: Any) -> tuple[str, ...]:
    tags = getattr(obj, "tags", ())
    return tuple(tags) if isinstance(tags, tuple | list | frozenset | set) else ()


def _dependencies(obj: Any, by_digest: dict[str, str]) -> set[str]:
    """Names ``obj`` references by ref (``sub(ref)`` steps, agent ``subflows``) and entries it inlines.

    An inlined entry is one whose whole IR appears inside ``obj``'s (found by
    content hash). One walk over the IR finds both.
    """
    from composable_agents.core.codec import walk
    from composable_agents.core.ir import App, Prim, SubStep

    found: set[str] = set()
    for nid, node, _parent in walk(obj.to_ir()):
        if isinstance(node, Prim):
            if isinstance(node.step, SubStep):
                found.add(node.step.ref)
            continue
        if isinstance(node, App):
            found.update(node.subflows)
        if nid != "$":
            name = by_digest.get(node.digest())
            if name is not None:
                found.add(name)
    return found


@contextlib.contextmanager
def _import_path(root: Path) -> Iterator[None]:
    """``root`` (and ``root/src``) on ``sys.path`` while importing the project's modules."""
    added = [str(p) for p in (root / "src", root) if p.is_dir() and str(p) not in sys.path]
    sys.path[:0] = added
    yield


class Project:
    """The loaded project: its config, imported modules and entries by name."""

    def __init__(self, config: ProjectConfig, entries: dict[str, Entry]) -> None:
        self.config = config
        self.entries = entries
        self._deployments: dict[str, Any] = {}
        self._manifest: Any = None

    def get(self, name: str) -> Entry:
        """The entry called ``name`` (exit 2 naming the known ones otherwise)."""
        found = self.entries.get(name)
        if found is None:
            known = ", ".join(sorted(self.entries)) or "none"
            abort(f"no flow, agent or session named {name!r} (known: {known})", USAGE)
        return found

    def dependents(self) -> dict[str, set[str]]:
        """Reverse edges: for each entry, the entries that depend on it."""
        rev: dict[str, set[str]] = {name: set() for name in self.entries}
        for entry in self.entries.values():
            for dep in entry.dependencies:
                rev.setdefault(dep, set()).add(entry.name)
        return rev

    @property
    def capabilities(self) -> Any:
        """The project's capability manifest (``None`` when the config names none)."""
        path = self.config.capabilities
        if path is None:
            return None
        if self._manifest is None:
            from composable_agents.compiler.capabilities import as_manifest

            if not path.is_file():
                abort(f"capabilities file {path} (from pyproject.toml) does not exist", USAGE)
            self._manifest = as_manifest(path)
        return self._manifest

    def deployment(self, entry: Entry) -> Any:
        """``entry`` deployed with the project's capabilities, never raising on diagnostics (cached)."""
        cached = self._deployments.get(entry.name)
        if cached is not None:
            return cached
        import warnings

        from composable_agents.agents.agent import Agent
        from composable_agents.compiler.deploy import deploy

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            obj = entry.obj
            if isinstance(obj, Agent):
                dep = obj.deploy(capabilities=self.capabilities, strict=False)
            else:
                dep = deploy(obj, capabilities=self.capabilities, strict=False)
        self._deployments[entry.name] = dep
        return dep

    def artifact_hash(self, entry: Entry) -> str:
        """The current artifact hash of ``entry`` (what the ledger records)."""
        return str(self.deployment(entry).artifact_hash)


def _import_modules(config: ProjectConfig) -> list[Any]:
    modules = []
    with _import_path(config.root):
        for name in config.modules:
            # A user module that prints at import time must not corrupt stdout (JSON, DOT, SVG).
            with contextlib.redirect_stdout(sys.stderr):
                try:
                    modules.append(importlib.import_module(name))
                except ModuleNotFoundError as exc:
                    if exc.name is not None and name.startswith(exc.name):
                        abort(f"cannot import project module {name!r}: {exc} (searched {config.root})", USAGE)
                    raise
                except ComposableAgentsError as exc:
                    # Define-time errors (a bad @flow body, a capability collision) carry their own file,
                    # line and hint: the message is the report; a traceback into our tracer is noise.
                    abort(f"project module {name!r} failed to build: {type(exc).__name__}: {exc}", USAGE)
    return modules


def load_project(path: str | os.PathLike[str] | None = None, modules: Sequence[str] = ()) -> Project:
    """Find the config, import its modules and discover every entry with its dependencies."""
    config = find_config(path, modules)
    if not config.modules:
        abort(f"{config.pyproject}: [tool.{CONFIG_TABLE}] lists no modules", USAGE)
    entries: dict[str, Entry] = {}
    seen: set[int] = set()
    for module in _import_modules(config):
        for attr, obj in vars(module).items():
            if attr.startswith("_") or id(obj) in seen:
                continue
            kind = _kind(obj)
            if kind is None:
                continue
            seen.add(id(obj))
            name = obj.name if kind == "agent" else (obj.ref or attr)
            if name in entries:
                abort(
                    f"two entries are named {name!r}: {entries[name].module} and {module.__name__}; "
                    "give one another name (.named(...), @flow(name=...))",
                    USAGE,
                )
            entries[name] = Entry(name, kind, str(obj.surface_shape), _tags(obj), module.__name__, obj)
    by_digest = {e.obj.to_ir().digest(): e.name for e in entries.values()}
    for entry in entries.values():
        deps = (_dependencies(entry.obj, by_digest) & entries.keys()) - {entry.name}
        entry.dependencies = tuple(sorted(deps))
    return Project(config, entries)
