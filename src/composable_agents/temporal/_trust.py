"""What a worker checks in a workflow's input before the first step (SPEC §22.4, §22.7).

A workflow's input is written by whoever can start workflows, so nothing in
it is taken on trust:

* **pins, every run** — the artifact's pure pins must match the pures this
  worker recorded at start-up *and* the ones it holds now (a pure replaced
  after the worker started is drift);
* **gates, on first sight** — an inline artifact is re-checked for approval
  dominance (a dangerous or approval-required tool must follow a human gate),
  cached by artifact hash, so a dev-mode or hand-made artifact cannot reach
  an ungated dangerous tool;
* **approval** — ``"ap"`` (an approving gate passed in the parent) is
  honoured only when this run *is* a child workflow;
* **carried state** — the segment number, start time, ledger usage,
  projection and agent-loop state ride in the input only across this run's
  own continue-as-new, so they are honoured only on a continued run.

Rejected alternative: signing the input with a worker-held key — it needs
key distribution and rotation, while every fact above is either re-derivable
from the artifact or known to the server (parent, continued run).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Final

from composable_agents.core.canonical import JsonObject
from composable_agents.core.pures import check_pins
from composable_agents.errors import CapabilityDenied
from composable_agents.execution.agent_loop import RESUME_KEY, resume_state

if TYPE_CHECKING:
    from composable_agents.temporal.artifact import LoadedArtifact

__all__ = ["CARRIED_KEYS", "RunAdmission", "admit_run", "check_gates"]

CARRIED_KEYS: Final = ("seg", "t0", "lg", "pp", "ar")
"""Input keys a run carries to its own continue-as-new (honoured only on a continued run)."""

_GATED: set[str] = set()
_MAX_GATED: Final = 4096


@dataclass(frozen=True, slots=True)
class RunAdmission:
    """What a run may take from its input: carried state, the parent's approval, an agent resume."""

    carried: Mapping[str, Any] = field(default_factory=dict)
    approved: bool = False
    resume: JsonObject | None = None


def check_gates(loaded: LoadedArtifact) -> None:
    """Raise :class:`CapabilityDenied` when ``loaded`` reaches an approval-required tool ungated.

    The same approval-dominance pass deploy runs (``APPROVAL_UNGATED``,
    ``CAP_APP_APPROVAL_TOOL``); a passing artifact is remembered by hash.
    """
    if loaded.hash in _GATED:
        return
    from composable_agents.compiler.approval import check_approval

    catalog = loaded.program.catalog
    frozen: Any = SimpleNamespace(node=loaded.program.node, tools=dict(catalog.tools), subflows=dict(catalog.subflows))
    found = check_approval(frozen)
    if found:
        listed = "; ".join(f"{d.code} at {d.node_id}: {d.message}" for d in found)
        msg = f"this worker refuses the artifact: {listed}. Put a human_gate before the tool and deploy in strict mode"
        raise CapabilityDenied(msg)
    if len(_GATED) >= _MAX_GATED:
        _GATED.clear()
    _GATED.add(loaded.hash)


def admit_run(payload: Mapping[str, Any], info: Any, loaded: LoadedArtifact, recorded: Mapping[str, str] | None) -> RunAdmission:
    """Check pins and gates, and decide what of ``payload`` this run may honour (see the module doc).

    ``info`` is the running workflow's ``workflow.info()``; ``recorded`` the
    pure hashes the worker took at start-up.
    """
    check_pins(loaded.pins, loaded.registry, recorded)
    continued = getattr(info, "continued_run_id", None) is not None
    from_parent = getattr(info, "parent", None) is not None
    approved = bool(payload.get("ap")) and from_parent
    if not approved:
        check_gates(loaded)
    carried = {k: payload[k] for k in CARRIED_KEYS if k in payload} if continued else {}
    resume = None
    if carried.get("ar") is not None:
        resume = resume_state({RESUME_KEY: carried["ar"]})
    return RunAdmission(carried=carried, approved=approved, resume=resume)
