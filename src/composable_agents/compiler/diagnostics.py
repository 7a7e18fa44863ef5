"""Diagnostics as data, and ``explain`` to teach from them.

A :class:`Diagnostic` is an immutable record: a stable ``code`` (listed in
``docs/diagnostics.md``), the ``node_id`` it is about, a message, a severity,
a ``hint`` (printed as the ``fix:`` line) and, with source capture on, the
user's ``file:line (expr)``. Passes return lists of diagnostics — all of
them, never only the first — and deploy decides what blocks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from composable_agents.core.canonical import JsonObject
from composable_agents.core.ir import SourceLoc
from composable_agents.core.source import capture_source, set_source_capture, source_capture_enabled
from composable_agents.errors import DIAGNOSTIC_RENDERER

__all__ = [
    "CODES",
    "Diagnostic",
    "Severity",
    "blocking",
    "capture_source",
    "diag",
    "explain",
    "set_source_capture",
    "source_capture_enabled",
]

Severity = Literal["error", "warning", "info"]

@dataclass(frozen=True, slots=True, kw_only=True)
class Diagnostic:
    """One finding of a compiler pass.

    ``severity == "error"`` blocks a strict deploy; warnings and infos do not.
    """

    code: str
    node_id: str
    message: str
    severity: Severity = "error"
    hint: str = ""
    source: SourceLoc | None = None

    @property
    def blocking(self) -> bool:
        """True for errors (they stop a strict deploy)."""
        return self.severity == "error"

    def render(self) -> str:
        """The diagnostic as ``explain`` prints it."""
        lines = [f"- [{self.code}@{self.node_id}] {self.severity}: {self.message}"]
        if self.source is not None:
            lines.append(f"    --> {self.source.render()}")
        if self.hint:
            lines.append(f"    fix: {self.hint}")
        return "\n".join(lines)

    def to_json(self) -> JsonObject:
        """The diagnostic as a JSON record (``source`` as ``file:line`` text)."""
        out: JsonObject = {
            "code": self.code,
            "node": self.node_id,
            "message": self.message,
            "severity": self.severity,
            "hint": self.hint,
        }
        if self.source is not None:
            out["source"] = self.source.render()
        return out


_ORDER: Final = {"error": 0, "warning": 1, "info": 2}


def blocking(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """The diagnostics that block a strict deploy."""
    return [d for d in diagnostics if d.blocking]


def explain(diagnostics: Sequence[Diagnostic] | Iterable[Diagnostic]) -> str:
    """Render diagnostics for people: blocking ones first, each with its ``fix:`` line."""
    items = sorted(diagnostics, key=lambda d: _ORDER.get(d.severity, 3))
    if not items:
        return "No diagnostics."
    sections: list[str] = []
    block = [d for d in items if d.blocking]
    rest = [d for d in items if not d.blocking]
    if block:
        sections.append("Blocking diagnostics:\n" + "\n".join(d.render() for d in block))
    if rest:
        sections.append("Other diagnostics:\n" + "\n".join(d.render() for d in rest))
    return "\n".join(sections)


CODES: Final[Mapping[str, tuple[Severity, str, str]]] = {
    # code: (severity, meaning, fix)
    "UNRESOLVED_CALL": (
        "error",
        "a call names a tool that does not exist in this deployment",
        "Pass the tool in deploy(tools=[...]) or the snapshot, or fix the tool key.",
    ),
    "UNRESOLVED_REASONER": (
        "error",
        "a think/stage/app names a reasoner that does not exist in this deployment",
        "Pass the Reasoner in deploy(reasoners=[...]) or register it on the registry.",
    ),
    "UNKNOWN_PURE": (
        "error",
        "an arr/predicate/reducer names a pure that is not registered",
        "Decorate the function with @pure(name) (or register_pure) before deploying.",
    ),
    "UNRESOLVED_SUBFLOW": (
        "error",
        "a sub (or an app's subflow) names a flow that is not a named flow",
        "Name the child flow with .named(ref) before deploying the parent.",
    ),
    "MALFORMED_NODE": (
        "error",
        "a node breaks its op's well-formedness rules",
        "Rebuild the node with its kernel constructor; the message says which field is wrong.",
    ),
    "RETRY_RANGE": (
        "error",
        "a retry annotation is out of range (maxAttempts >= 1, retryIntervalS >= 0, backoffRate >= 1)",
        "Use maxAttempts >= 1, retryIntervalS >= 0 and backoffRate >= 1.",
    ),
    "RETRY_UNSAFE": (
        "error",
        "explicit retries (maxAttempts > 1) on a tool that is neither read-only nor idempotent",
        (
            "Drop the retries, or make the tool idempotent (@tool(idempotent=True) or a capability "
            "grant asserting idempotency: required)."
        ),
    ),
    "SCHEMA_MISMATCH": (
        "error",
        "a step's output schema cannot be the next step's input schema",
        "Insert an arr(...) adapter between the steps, or fix one of the types.",
    ),
    "SECRET_ARG": (
        "error",
        "a static argument looks like a secret; artifacts and histories are not secret stores",
        (
            "Pass a credential reference through the run's principal (or the worker's "
            "configuration), never a secret in the flow."
        ),
    ),
    "WHOLE_SESSION_PAR": (
        "warning",
        "a leaf reads the whole session inside a par: the branches run one at a time",
        "Give the leaf ctx=ContextPolicy(scope='summary') or 'local', or move it out of the par.",
    ),
    "CAP_MANIFEST_INVALID": (
        "error",
        (
            "the capability manifest is malformed (unknown section or key, wrong type, bad version "
            "constraint, negative budget)"
        ),
        "Fix the manifest entry at the path shown; see the format in docs/diagnostics.md.",
    ),
    "CAP_TOOL_DENIED": (
        "error",
        "a call uses an existing tool that the capability manifest does not grant",
        "Add this tool to the capability manifest's tools: allow-list, or remove the call.",
    ),
    "CAP_APP_TOOL_DENIED": (
        "error",
        "an agent loop (app) lists a tool that the capability manifest does not grant",
        "Add this tool to the capability manifest's tools: allow-list, or remove it from the app.",
    ),
    "CAP_APP_APPROVAL_TOOL": (
        "error",
        "an agent loop (app) lists a dangerous or approval-required tool it could call ungated",
        "Remove the tool from the app and call it in the flow behind human_gate(...).",
    ),
    "CAP_REASONER_DENIED": (
        "error",
        "a think/stage/app uses a reasoner that the reasoners: section does not list",
        "Add the reasoner's name to the capability manifest's reasoners: list.",
    ),
    "CAP_MODEL_DENIED": (
        "error",
        "a reasoner needs a model but the manifest's models: section is empty (no model allowed)",
        "List the reasoner's model id under models:, or remove the reasoner.",
    ),
    "CAP_MODEL_ID_DENIED": (
        "error",
        "a reasoner's model id is not in the manifest's models: list",
        "Add the model id to the capability manifest's models: list, or switch the reasoner's model.",
    ),
    "CAP_SUBFLOW_DENIED": (
        "error",
        "a sub (or an app's subflow) names a flow that the subflows: section does not list",
        "Add the flow's name to the capability manifest's subflows: list.",
    ),
    "CAP_SERVER_DENIED": (
        "error",
        "an MCP tool's server is not in the manifest's mcp_servers: section",
        "Add the server (with a version pin) to the capability manifest's mcp_servers:.",
    ),
    "CAP_VERSION_PIN": (
        "error",
        "an MCP server's frozen version does not satisfy the manifest's version pin",
        "Freeze against a server version that satisfies the pin, or relax the pin.",
    ),
    "NETWORK_DENIED": (
        "error",
        "an HTTP tool's endpoint host is not in the manifest's network: section",
        "Add the host to the capability manifest's network: list, or point the tool at a granted host.",
    ),
    "CAP_MEMORY_DENIED": (
        "error",
        "a leaf's ctx= memory scope is not in the manifest's memory: list",
        "Add the scope to the capability manifest's memory: list, or narrow the leaf's ctx=.",
    ),
    "CAP_ASSERT_CONFLICT": (
        "error",
        "a grant asserts a weaker effect than the native tool declares",
        "Remove the grant's effect: assertion, or change the tool's declared effect.",
    ),
    "CAP_MAX_CALLS": (
        "warning",
        "the flow may call a tool more often than its grant's maxCalls; later calls are refused at run time",
        "Raise maxCalls in the grant, or bound the loop that repeats the call.",
    ),
    "RACE_UNASSERTED": (
        "error",
        (
            "a race/hedge/quorum branch calls an MCP tool whose read-only/idempotent status is only "
            "an untrusted hint"
        ),
        "Assert the tool in the capability manifest (effect: read, or idempotency: native/required).",
    ),
    "RACE_UNSAFE": (
        "error",
        "a race/hedge/quorum branch calls a non-idempotent write/external/dangerous tool",
        "Race only read-only or idempotent tools; run this tool after the race settles.",
    ),
    "RACE_SUB": (
        "error",
        "a race/hedge/quorum branch runs a sub-flow, whose effects cannot be admitted across the firewall",
        "Inline the child's steps into the branch, or run the sub after the race settles.",
    ),
    "APPROVAL_UNGATED": (
        "error",
        "a dangerous or approval-required tool is reachable on a path without a human_gate before it",
        "Put human_gate(prompt=...) before this call on every path that reaches it.",
    ),
    "BUDGET_EXCEEDED": (
        "error",
        "the static cost (or token) estimate exceeds the manifest's budget",
        "Raise budget.cost (or budget.tokens), lower Ann(cost_usd=...) estimates, or bound loops tighter.",
    ),
}
"""Every stable diagnostic code: its default severity, meaning and fix (see ``docs/diagnostics.md``)."""


def diag(
    code: str,
    node_id: str,
    message: str,
    *,
    hint: str | None = None,
    severity: Severity | None = None,
    source: SourceLoc | None = None,
) -> Diagnostic:
    """A :class:`Diagnostic` for a catalogued ``code`` with its default severity and fix."""
    default_severity, _meaning, default_hint = CODES[code]
    return Diagnostic(
        code=code,
        node_id=node_id,
        message=message,
        severity=severity or default_severity,
        hint=default_hint if hint is None else hint,
        source=source,
    )


DIAGNOSTIC_RENDERER[:] = [explain]  # ValidationError messages list every diagnostic with its fix
