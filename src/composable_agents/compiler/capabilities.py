"""Capabilities: the deny-by-default manifest and the pass that enforces it.

A :class:`CapabilityManifest` (YAML or dict, SPEC §14) has the sections
``tools``, ``reasoners``, ``models``, ``memory``, ``mcp_servers``, ``network``,
``subflows`` and ``budget``. **An absent section is unconstrained; a present,
empty one denies all.** Tool grants may *assert* a contract (``effect`` and
``idempotency``) — the only way an MCP tool becomes read-only or idempotent —
require ``approval``, and cap ``maxCalls``.

A malformed manifest never raises: every fault becomes a
``CAP_MANIFEST_INVALID`` diagnostic naming its YAML path (``tools[1].effect``),
and the faulty part denies (a bad section acts as a present, empty one).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, cast
from urllib.parse import urlparse

from composable_agents.compiler.diagnostics import Diagnostic, diag
from composable_agents.core.canonical import JsonObject
from composable_agents.core.codec import budget_figure
from composable_agents.core.ir import (
    RESERVED_TOOLS,
    App,
    CallStep,
    EvalPlan,
    Node,
    Prim,
    SourceLoc,
    SubStep,
    ThinkStep,
)
from composable_agents.core.kinds import ContextScope, Effect, Idempotency
from composable_agents.core.secrets import looks_secret

if TYPE_CHECKING:
    from composable_agents.authoring.leaves import ToolDef
    from composable_agents.compiler.freeze import Frozen

__all__ = [
    "SECTIONS",
    "Budget",
    "CapabilityManifest",
    "ToolGrant",
    "VersionConstraint",
    "apply_grant",
    "as_manifest",
    "call_contract",
    "check_capabilities",
    "effect_rank",
    "endpoint_host",
    "host_granted",
    "needs_approval",
]

SECTIONS: Final = ("tools", "reasoners", "models", "memory", "mcp_servers", "network", "subflows", "budget")
_GRANT_KEYS: Final = ("name", "effect", "idempotency", "maxCalls", "approval")
_BUDGET_KEYS: Final = ("cost", "tokens", "wallSeconds")
_EFFECT_RANK: Final = {Effect.READ: 0, Effect.WRITE: 1, Effect.EXTERNAL: 2, Effect.DANGEROUS: 3}


def effect_rank(effect: Effect) -> int:
    """``read`` < ``write`` < ``external`` < ``dangerous``."""
    return _EFFECT_RANK[effect]


# -- version constraints ---------------------------------------------------------

_CLAUSE: Final = re.compile(r"^\s*(>=|<=|==|!=|~=|>|<|=|\^)?\s*v?(\d+(?:\.\d+){0,3})(\.\*)?\s*$")
_VERSION: Final = re.compile(r"^\s*v?(\d+(?:\.\d+){0,3})")


def _vtuple(text: str) -> tuple[int, ...]:
    parts = [int(p) for p in text.split(".")]
    while len(parts) < 4:
        parts.append(0)
    return tuple(parts)


@dataclass(frozen=True, slots=True)
class VersionConstraint:
    """A version pin like ``>=1.2``, ``>=1.2,<2``, ``==1.4.*``, ``^1.2``, ``~=1.2`` or ``*``."""

    text: str
    clauses: tuple[tuple[str, tuple[int, ...], int, bool], ...]

    @classmethod
    def parse(cls, text: str) -> VersionConstraint:
        """Parse ``text``; :class:`ValueError` names the bad clause."""
        if not isinstance(cast(object, text), str) or not text.strip():
            msg = f"a version constraint must be a non-empty string, got {text!r}"
            raise ValueError(msg)
        if text.strip() == "*":
            return cls(text, ())
        clauses = []
        for raw in text.split(","):
            m = _CLAUSE.match(raw)
            if m is None:
                msg = f"bad version constraint clause {raw.strip()!r} (expected e.g. '>=1.2' or '>=1.2,<2')"
                raise ValueError(msg)
            op = m.group(1) or "=="
            if op == "=":
                op = "=="
            wildcard = m.group(3) is not None
            if wildcard and op not in ("==", "!="):
                msg = f"a wildcard version is only allowed with == or != ({raw.strip()!r})"
                raise ValueError(msg)
            clauses.append((op, _vtuple(m.group(2)), m.group(2).count(".") + 1, wildcard))
        return cls(text, tuple(clauses))

    def allows(self, version: str | None) -> bool:
        """True when ``version`` satisfies every clause (an unknown version never does)."""
        if not self.clauses:
            return True
        if version is None:
            return False
        m = _VERSION.match(version)
        if m is None:
            return False
        v = _vtuple(m.group(1))
        for op, want, width, wildcard in self.clauses:
            if op in ("==", "!=") and wildcard:
                same = v[:width] == want[:width]
                ok = same if op == "==" else not same
            elif op == "==":
                ok = v == want
            elif op == "!=":
                ok = v != want
            elif op == ">=":
                ok = v >= want
            elif op == "<=":
                ok = v <= want
            elif op == ">":
                ok = v > want
            elif op == "<":
                ok = v < want
            elif op == "~=":
                keep = max(width - 1, 1)
                ok = v >= want and v[:keep] == want[:keep]
            else:  # ^: same leading non-zero component
                lead = next((i for i, p in enumerate(want) if p != 0), len(want) - 1)
                ok = v >= want and v[: lead + 1] == want[: lead + 1]
            if not ok:
                return False
        return True


# -- the manifest ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ToolGrant:
    """One ``tools:`` entry: a granted tool key (``server/*`` grants a whole server)."""

    name: str
    effect: Effect | None = None
    idempotency: Idempotency | None = None
    max_calls: int | None = None
    approval: bool = False

    @property
    def asserts(self) -> bool:
        """True when the grant asserts a contract (effect and/or idempotency)."""
        return self.effect is not None or self.idempotency is not None

    def to_json(self) -> JsonObject:
        """The manifest form (keys absent when unset)."""
        out: JsonObject = {"name": self.name}
        if self.effect is not None:
            out["effect"] = str(self.effect)
        if self.idempotency is not None:
            out["idempotency"] = str(self.idempotency)
        if self.max_calls is not None:
            out["maxCalls"] = self.max_calls
        if self.approval:
            out["approval"] = "required"
        return out


@dataclass(frozen=True, slots=True)
class Budget:
    """The ``budget:`` section: ``cost`` (USD), ``tokens`` and ``wallSeconds``."""

    cost: float | None = None
    tokens: int | None = None
    wall_seconds: float | None = None

    def to_json(self) -> JsonObject:
        """The manifest form."""
        out: JsonObject = {}
        if self.cost is not None:
            out["cost"] = self.cost
        if self.tokens is not None:
            out["tokens"] = self.tokens
        if self.wall_seconds is not None:
            out["wallSeconds"] = self.wall_seconds
        return out


@dataclass(frozen=True)
class CapabilityManifest:
    """What a deployment is *allowed* to use. ``None`` sections are unconstrained.

    Build with :meth:`from_dict` / :meth:`from_yaml` (which never raise on bad
    content: faults land in :attr:`problems`) or directly.
    """

    tools: tuple[ToolGrant, ...] | None = None
    reasoners: tuple[str, ...] | None = None
    models: tuple[str, ...] | None = None
    memory: tuple[str, ...] | None = None
    mcp_servers: Mapping[str, str] | None = None
    network: tuple[str, ...] | None = None
    subflows: tuple[str, ...] | None = None
    budget: Budget | None = None
    problems: tuple[Diagnostic, ...] = field(default=(), compare=False)
    _grants: dict[str, ToolGrant] = field(default_factory=dict, init=False, repr=False, compare=False)
    _pins: dict[str, VersionConstraint | None] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        grants: dict[str, ToolGrant] = {}
        for g in self.tools or ():
            grants.setdefault(g.name, g)
        object.__setattr__(self, "_grants", grants)
        pins: dict[str, VersionConstraint | None] = {}
        for server, text in (self.mcp_servers or {}).items():
            try:
                pins[server] = VersionConstraint.parse(text)
            except ValueError:
                pins[server] = None  # reported by from_dict; an unparseable pin admits nothing
        object.__setattr__(self, "_pins", pins)

    # -- construction -----------------------------------------------------------

    @classmethod
    def from_dict(cls, doc: object) -> CapabilityManifest:
        """Parse a manifest document; faults become ``CAP_MANIFEST_INVALID`` problems."""
        return _Parser().manifest(doc)

    @classmethod
    def from_yaml(cls, source: str | os.PathLike[str]) -> CapabilityManifest:
        """Parse YAML text, or the YAML file at a path (``Path`` or a ``*.yaml``/``*.yml`` name).

        Strict: a key repeated anywhere (two ``tools:`` sections, two ``effect:``
        keys in a grant), nesting past 64 levels or an unreadable value makes the
        manifest invalid and deny everything.
        """
        from composable_agents.compiler._manifest_yaml import load_yaml_strict

        if isinstance(source, os.PathLike) or ("\n" not in source and source.endswith((".yaml", ".yml"))):
            try:
                text = Path(source).read_text(encoding="utf-8")
            except OSError as exc:
                return cls(problems=(_invalid("$", f"cannot read the manifest file: {exc}"),))
        else:
            text = str(source)
        doc, problem = load_yaml_strict(text)
        if problem is not None:
            # Fail closed (SPEC §22.8): a repeated key, a too-deep or unreadable document denies everything.
            return _Parser().closed(problem)
        if doc is None:
            doc = {}
        return cls.from_dict(doc)

    # -- queries ----------------------------------------------------------------

    def grant(self, key: str) -> ToolGrant | None:
        """The grant covering the tool ``key`` (exact, then ``server/*``), or ``None``."""
        found = self._grants.get(key)
        if found is None and "/" in key:
            found = self._grants.get(key.split("/", 1)[0] + "/*")
        return found

    def allows_tool(self, key: str) -> bool:
        """True when the tool may be called (reserved tools always may)."""
        return key in RESERVED_TOOLS or self.tools is None or self.grant(key) is not None

    def pin(self, server: str) -> VersionConstraint | None:
        """The parsed pin for ``server`` (``None`` if absent or unparseable)."""
        return self._pins.get(server)

    def to_json(self) -> JsonObject:
        """The canonical manifest JSON (present sections only; covered by the artifact hash)."""
        out: JsonObject = {}
        if self.tools is not None:
            out["tools"] = [g.to_json() for g in self.tools]
        for name in ("reasoners", "models", "memory", "network", "subflows"):
            value = getattr(self, name)
            if value is not None:
                out[name] = list(value)
        if self.mcp_servers is not None:
            out["mcp_servers"] = dict(self.mcp_servers)
        if self.budget is not None:
            out["budget"] = self.budget.to_json()
        return out

    def to_yaml(self) -> str:
        """The manifest as YAML text."""
        import yaml

        return str(yaml.safe_dump(self.to_json(), sort_keys=False))


def _invalid(path: str, message: str) -> Diagnostic:
    return diag("CAP_MANIFEST_INVALID", f"capabilities:{path}", f"{path}: {message}")


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


class _Parser:
    def __init__(self) -> None:
        self.problems: list[Diagnostic] = []

    def bad(self, path: str, message: str) -> None:
        self.problems.append(_invalid(path, message))

    def manifest(self, doc: object) -> CapabilityManifest:
        if isinstance(doc, CapabilityManifest):
            return doc
        if not isinstance(doc, Mapping):
            return self.closed(f"the manifest must be a mapping of sections, got {_kind(doc)}")
        for path in _secret_strings(doc):
            self.problems.append(
                diag(
                    "SECRET_ARG",
                    f"capabilities:{path}",
                    f"the capability manifest's {path} looks like a secret",
                    hint="a manifest is frozen into the artifact: name servers and hosts without credentials, "
                    "and let the worker read keys from its environment (env://NAME)",
                )
            )
        values: dict[str, Any] = {}
        for key in doc:
            if key not in SECTIONS:
                self.bad(str(key), f"unknown section {key!r} (sections: {', '.join(SECTIONS)})")
        if "tools" in doc:
            values["tools"] = self.tools(doc["tools"])
        for name in ("reasoners", "models", "network", "subflows"):
            if name in doc:
                values[name] = self.names(doc[name], name)
        if "memory" in doc:
            values["memory"] = self.memory(doc["memory"])
        if "mcp_servers" in doc:
            values["mcp_servers"] = self.servers(doc["mcp_servers"])
        if "budget" in doc:
            values["budget"] = self.budget(doc["budget"])
        return CapabilityManifest(**values, problems=tuple(self.problems))

    def closed(self, problem: str) -> CapabilityManifest:
        """The deny-everything manifest carrying ``problem`` (an unreadable manifest fails closed)."""
        self.bad("$", problem)
        return CapabilityManifest(
            tools=(), reasoners=(), models=(), memory=(), mcp_servers={}, network=(), subflows=(),
            budget=Budget(cost=0.0, tokens=0, wall_seconds=0.0), problems=tuple(self.problems),
        )

    def names(self, value: object, path: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list | tuple):
            self.bad(path, f"expected a list of names, got {_kind(value)}")
            return ()
        out: list[str] = []
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item:
                self.bad(f"{path}[{i}]", f"expected a non-empty name, got {_kind(item)}")
                continue
            out.append(item)
        return tuple(out)

    def memory(self, value: object) -> tuple[str, ...]:
        names = self.names(value, "memory")
        valid = {str(s) for s in ContextScope}
        out = []
        for i, name in enumerate(names):
            if name not in valid:
                self.bad(f"memory[{i}]", f"unknown memory scope {name!r} (scopes: {', '.join(sorted(valid))})")
                continue
            out.append(name)
        return tuple(out)

    def tools(self, value: object) -> tuple[ToolGrant, ...]:
        if value is None:
            return ()
        if isinstance(value, Mapping):  # {name: {effect: ...}} form
            value = [{"name": k, **(v or {})} if isinstance(v, Mapping) or v is None else {"name": k, "_": v}
                     for k, v in value.items()]
        if not isinstance(value, list | tuple):
            self.bad("tools", f"expected a list of grants, got {_kind(value)}")
            return ()
        out: list[ToolGrant] = []
        for i, item in enumerate(value):
            path = f"tools[{i}]"
            if isinstance(item, str) and item:
                out.append(ToolGrant(item))
                continue
            if not isinstance(item, Mapping):
                self.bad(path, f"expected a tool name or a grant mapping, got {_kind(item)}")
                continue
            ok = True
            for key in item:
                if key not in _GRANT_KEYS:
                    self.bad(f"{path}.{key}", f"unknown grant key {key!r} (keys: {', '.join(_GRANT_KEYS)})")
                    ok = False
            name = item.get("name")
            if not isinstance(name, str) or not name:
                self.bad(f"{path}.name", f"every grant needs a non-empty name, got {_kind(name)}")
                continue
            effect = idem = None
            if item.get("effect") is not None:
                try:
                    effect = Effect(item["effect"])
                except ValueError:
                    self.bad(f"{path}.effect", f"unknown effect {item['effect']!r} (read, write, external, dangerous)")
                    ok = False
            if item.get("idempotency") is not None:
                try:
                    idem = Idempotency(item["idempotency"])
                except ValueError:
                    self.bad(f"{path}.idempotency", f"unknown idempotency {item['idempotency']!r} (none, native, required)")
                    ok = False
            max_calls = item.get("maxCalls")
            if max_calls is not None and (type(max_calls) is not int or max_calls < 0):
                self.bad(f"{path}.maxCalls", f"maxCalls must be a non-negative integer, got {max_calls!r}")
                ok = False
            approval_raw = item.get("approval")
            approval = False
            if approval_raw in ("required", True):
                approval = True
            elif approval_raw not in (None, "none", False):
                self.bad(f"{path}.approval", f"approval must be 'required' or 'none', got {approval_raw!r}")
                ok = False
            if ok:
                out.append(ToolGrant(name, effect, idem, max_calls, approval))
        return tuple(out)

    def servers(self, value: object) -> dict[str, str]:
        if value is None:
            return {}
        if isinstance(value, list | tuple):
            value = {str(v): "*" for v in self.names(value, "mcp_servers")}
        if not isinstance(value, Mapping):
            self.bad("mcp_servers", f"expected a mapping of server to version pin, got {_kind(value)}")
            return {}
        out: dict[str, str] = {}
        for server, pin in value.items():
            path = f"mcp_servers.{server}"
            if pin is None:
                pin = "*"
            if isinstance(pin, int | float) and not isinstance(pin, bool):
                pin = f"=={pin}"
            if not isinstance(pin, str):
                self.bad(path, f"expected a version constraint string, got {_kind(pin)}")
                continue
            try:
                VersionConstraint.parse(pin)
            except ValueError as exc:
                self.bad(path, str(exc))
                continue
            out[str(server)] = pin
        return out

    def budget(self, value: object) -> Budget:
        if value is None or (isinstance(value, Mapping) and not value):
            return Budget(cost=0.0, tokens=0, wall_seconds=0.0)  # present but empty: no spend at all
        if not isinstance(value, Mapping):
            self.bad("budget", f"expected a mapping with cost/tokens/wallSeconds, got {_kind(value)}")
            return Budget(cost=0.0, tokens=0, wall_seconds=0.0)
        vals: dict[str, Any] = {}
        for key, raw in value.items():
            path = f"budget.{key}"
            if key not in _BUDGET_KEYS:
                self.bad(path, f"unknown budget key {key!r} (keys: {', '.join(_BUDGET_KEYS)})")
                continue
            if isinstance(raw, bool) or not isinstance(raw, int | float) or not budget_figure(raw):
                self.bad(path, f"expected a finite number, got {_kind(raw)}")
                vals[key] = 0
                continue
            if raw < 0:
                self.bad(path, f"a budget cannot be negative, got {raw!r}")
                vals[key] = 0
                continue
            if key == "tokens" and type(raw) is not int:
                self.bad(path, f"tokens must be an integer, got {raw!r}")
                vals[key] = 0
                continue
            vals[key] = raw
        return Budget(
            cost=float(vals["cost"]) if "cost" in vals else None,
            tokens=int(vals["tokens"]) if "tokens" in vals else None,
            wall_seconds=float(vals["wallSeconds"]) if "wallSeconds" in vals else None,
        )


def _secret_strings(doc: Mapping[Any, Any]) -> list[str]:
    """Paths of secret-shaped strings anywhere in a manifest document (iterative; depth-bounded)."""
    found: list[str] = []
    # By value only: manifest keys are tool, server and section names, and a server called
    # "auth" must not make its version pin look like a password.
    stack: list[tuple[object, str, int]] = [(doc, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth > 64:
            continue
        if isinstance(value, Mapping):
            for k, v in value.items():
                stack.append((v, f"{path}.{k}" if path else str(k), depth + 1))
        elif isinstance(value, list | tuple):
            for i, v in enumerate(value):
                stack.append((v, f"{path}[{i}]", depth + 1))
        elif isinstance(value, str) and looks_secret(None, value):
            found.append(path)
    return sorted(found)


def as_manifest(capabilities: object) -> CapabilityManifest | None:
    """``deploy(capabilities=...)`` as a manifest: ``None``, a manifest, a dict, YAML text or a path."""
    if capabilities is None:
        return None
    if isinstance(capabilities, CapabilityManifest):
        return capabilities
    if isinstance(capabilities, str | os.PathLike):
        return CapabilityManifest.from_yaml(capabilities)
    return CapabilityManifest.from_dict(capabilities)


# -- contract assertions ---------------------------------------------------------


def apply_grant(tool: ToolDef, grant: ToolGrant | None) -> tuple[ToolDef, bool]:
    """``tool`` with the grant's assertions folded into its contract, and whether it was asserted."""
    if grant is None or not (grant.asserts or grant.approval):
        return tool, False
    contract = tool.contract
    new_effect = grant.effect if grant.effect is not None else contract.effect
    new_contract = dataclasses.replace(
        contract,
        effect=new_effect,
        idempotency=grant.idempotency if grant.idempotency is not None else contract.idempotency,
        approval=contract.approval or grant.approval or new_effect is Effect.DANGEROUS,
    )
    if new_contract == contract:
        return tool, grant.asserts
    return dataclasses.replace(tool, contract=new_contract), grant.asserts


# -- the pass --------------------------------------------------------------------


def check_capabilities(
    frozen: Frozen,
    manifest: CapabilityManifest | None,
    *,
    nodes: Sequence[tuple[str, Node, str | None]] | None = None,
) -> list[Diagnostic]:
    """Every capability diagnostic of ``frozen`` under ``manifest`` (none when it is ``None``)."""
    if manifest is None:
        return []
    from composable_agents.compiler.freeze import all_nodes

    out: list[Diagnostic] = list(manifest.problems)
    items = nodes if nodes is not None else all_nodes(frozen)
    tools_map = frozen.tools
    reasoner_first_use: dict[str, tuple[str, Node]] = {}
    memory = set(manifest.memory) if manifest.memory is not None else None

    def reasoner_use(name: str, nid: str, node: Node) -> None:
        reasoner_first_use.setdefault(name, (nid, node))
        if manifest.reasoners is not None and name not in manifest.reasoners:
            out.append(diag("CAP_REASONER_DENIED", nid, f"reasoner {name!r} is not granted", source=node.src))

    def subflow_use(ref: str, nid: str, node: Node) -> None:
        if manifest.subflows is not None and ref not in manifest.subflows:
            out.append(diag("CAP_SUBFLOW_DENIED", nid, f"sub-flow {ref!r} is not granted", source=node.src))

    for nid, node, _parent in items:
        if memory is not None and node.ctx is not None:
            scope = str(node.ctx.scope)
            if scope != "none" and scope not in memory:
                out.append(
                    diag("CAP_MEMORY_DENIED", nid, f"memory scope {scope!r} is not granted", source=node.src)
                )
        if isinstance(node, Prim):
            step = node.step
            if isinstance(step, CallStep):
                key = step.tool
                if key in RESERVED_TOOLS or key not in tools_map:
                    continue  # reserved tools need no grant; a missing tool is UNRESOLVED_CALL
                if not manifest.allows_tool(key):
                    out.append(diag("CAP_TOOL_DENIED", nid, f"tool {key!r} is not granted", source=node.src))
            elif isinstance(step, ThinkStep):
                reasoner_use(step.reasoner, nid, node)
            elif isinstance(step, SubStep):
                subflow_use(step.ref, nid, node)
        elif isinstance(node, App):
            reasoner_use(node.controller, nid, node)
            for key in node.tools:
                if key in tools_map and not manifest.allows_tool(key):
                    out.append(
                        diag("CAP_APP_TOOL_DENIED", nid, f"agent loop tool {key!r} is not granted", source=node.src)
                    )
            for ref in node.subflows:
                subflow_use(ref, nid, node)
        elif isinstance(node, EvalPlan):
            reasoner_use(node.planner, nid, node)

    if manifest.models is not None:
        allowed = set(manifest.models)
        for name in sorted(reasoner_first_use):
            r = frozen.reasoners.get(name)
            if r is None:
                continue
            nid, node = reasoner_first_use[name]
            if not allowed:
                out.append(
                    diag(
                        "CAP_MODEL_DENIED",
                        nid,
                        f"reasoner {name!r} needs model {r.model!r} but models: allows none",
                        source=node.src,
                    )
                )
            elif r.model not in allowed:
                out.append(
                    diag(
                        "CAP_MODEL_ID_DENIED",
                        nid,
                        f"model {r.model!r} of reasoner {name!r} is not granted",
                        source=node.src,
                    )
                )

    first_call: dict[str, tuple[str, Node]] = {}
    for nid, node, _parent in items:
        if isinstance(node, Prim) and isinstance(node.step, CallStep):
            first_call.setdefault(node.step.tool, (nid, node))
        elif isinstance(node, App):
            for key in node.tools:
                first_call.setdefault(key, (nid, node))
    if manifest.mcp_servers is not None:
        for key in sorted(tools_map):
            tool = tools_map[key]
            if tool.kind != "mcp" or tool.server is None:
                continue
            nid, src = _where(first_call, key)
            if tool.server not in manifest.mcp_servers:
                out.append(
                    diag("CAP_SERVER_DENIED", nid, f"MCP server {tool.server!r} (tool {key!r}) is not granted", source=src)
                )
                continue
            pin = manifest.pin(tool.server)
            if pin is not None and not pin.allows(tool.server_version):
                have = tool.server_version if tool.server_version is not None else "unknown"
                out.append(
                    diag(
                        "CAP_VERSION_PIN",
                        nid,
                        f"MCP server {tool.server!r} is version {have}, which does not satisfy "
                        f"the pin {manifest.mcp_servers[tool.server]!r}",
                        source=src,
                    )
                )
    if manifest.network is not None:
        hosts = set(manifest.network)
        for key in sorted(tools_map):
            host = endpoint_host(tools_map[key])
            if host is None or host_granted(host, hosts):
                continue
            nid, src = _where(first_call, key)
            out.append(
                diag(
                    "NETWORK_DENIED",
                    nid,
                    f"tool {key!r} calls host {host!r}, which the manifest's network: section does not grant",
                    source=src,
                )
            )
    for key, declared in sorted(frozen.declared.items()):
        granted = tools_map.get(key)
        if granted is None or granted.kind == "mcp":
            continue
        if effect_rank(granted.contract.effect) < effect_rank(declared.effect):
            nid, src = _where(first_call, key)
            out.append(
                diag(
                    "CAP_ASSERT_CONFLICT",
                    nid,
                    f"the grant for tool {key!r} asserts effect {str(granted.contract.effect)!r}, "
                    f"weaker than its declared {str(declared.effect)!r}",
                    source=src,
                )
            )
    return out


def endpoint_host(tool: ToolDef) -> str | None:
    """The host an endpoint tool calls, read from its frozen definition (``http.url``), else ``None``.

    Data, not a type check: the compiler never imports the HTTP integration that builds these.
    """
    if tool.kind != "http":
        return None
    http = tool.definition_json().get("http")
    url = http.get("url") if isinstance(http, Mapping) else None
    if not isinstance(url, str):
        return None
    return urlparse(url).hostname or ""


def host_granted(host: str, granted: Iterable[str]) -> bool:
    """``host`` is listed, or matches a ``*.suffix`` entry (``*.example.com`` grants ``api.example.com``)."""
    for entry in granted:
        if host == entry or (entry.startswith("*.") and host.endswith(entry[1:])):
            return True
    return False


def _where(first_call: Mapping[str, tuple[str, Node]], key: str) -> tuple[str, SourceLoc | None]:
    found = first_call.get(key)
    if found is None:
        return "$", None
    return found[0], found[1].src


def call_contract(tool: ToolDef, node: Node) -> tuple[Effect, Idempotency]:
    """The effect and idempotency a call step runs under (an ``Ann(effect=...)`` may only raise the effect)."""
    effect = tool.contract.effect
    if node.ann is not None and node.ann.effect is not None:
        raised = Effect(node.ann.effect)
        if effect_rank(raised) > effect_rank(effect):
            effect = raised
    return effect, tool.contract.idempotency


def needs_approval(tool: ToolDef, node: Node) -> bool:
    """True for a dangerous call or a tool whose (granted) contract requires approval."""
    effect, _ = call_contract(tool, node)
    return effect is Effect.DANGEROUS or tool.contract.approval
