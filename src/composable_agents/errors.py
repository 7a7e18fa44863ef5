"""The error taxonomy.

Every error the library raises on purpose derives from ``ComposableAgentsError``
and, where one fits, from a builtin (``TypeError`` for wrong types,
``ValueError`` for bad values, ``NotImplementedError`` for unsupported ops), so
callers can catch either. Policy errors — decisions, not accidents — carry
``non_retryable = True``: the Temporal layer turns them into non-retryable
application errors instead of retrying a verdict that cannot change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from composable_agents.compiler.diagnostics import Diagnostic

__all__ = [
    "DIAGNOSTIC_RENDERER",
    "POLICY_ERRORS",
    "AgentContinue",
    "AllBranchesFailed",
    "BudgetExceeded",
    "CanonicalJSONError",
    "CapabilityDenied",
    "ChannelFull",
    "ComposableAgentsError",
    "CompositionError",
    "DefineError",
    "DevModeError",
    "DuplicateToolError",
    "FreezeError",
    "IRDecodeError",
    "IdempotencyConflict",
    "InvalidUsage",
    "MissingFakeError",
    "ModelNotConfigured",
    "PlanRejected",
    "PrincipalRequired",
    "ProviderError",
    "ProviderRefusal",
    "ProviderUnavailable",
    "PureDriftError",
    "RegistryError",
    "RunError",
    "RunStopped",
    "SegmentLimitExceeded",
    "SessionClosed",
    "SessionCompileError",
    "SessionValidationError",
    "StagedPlanRejected",
    "StepFailed",
    "StepTypeError",
    "ToolDefinitionMismatch",
    "ToolRejected",
    "ToolUnavailable",
    "UnsupportedOpError",
    "ValidationError",
]


class ComposableAgentsError(Exception):
    """Base of every error this library raises deliberately."""

    non_retryable: ClassVar[bool] = False


class CanonicalJSONError(ComposableAgentsError, TypeError):
    """A value that must be JSON is not (NaN, a set, a non-``str`` key, ...).

    ``path`` is the JSON path of the offending part (``$.a[2]``).
    """

    def __init__(self, message: str, *, path: str = "$") -> None:
        super().__init__(message)
        self.path = path


class IRDecodeError(ComposableAgentsError, ValueError):
    """IR JSON that does not decode to a node; ``path`` locates the fault."""

    non_retryable = True

    def __init__(self, message: str, *, path: str = "$") -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.reason = message


class CompositionError(ComposableAgentsError, TypeError):
    """An arrow or kernel node that cannot be built as asked."""


class RegistryError(ComposableAgentsError, ValueError):
    """A name registered twice with different bodies, or looked up but absent."""


class DuplicateToolError(RegistryError, CompositionError):
    """A second, different tool declared under a key a registry already holds (SPEC §22.10).

    Raised where the second tool is declared, naming both declarations; pass
    ``@tool(..., replace=True)`` to replace a tool on purpose.
    """


class FreezeError(ComposableAgentsError, ValueError):
    """The flow cannot be frozen (a cycle of sub-flows, nesting too deep, ...)."""

    non_retryable = True


def _plain(diagnostics: Sequence[Diagnostic]) -> str:
    return "\n".join(f"{d.code}: {d.message}" for d in diagnostics)


DIAGNOSTIC_RENDERER: list[Callable[[Sequence[Diagnostic]], str]] = [_plain]
"""How :class:`ValidationError` renders its diagnostics; ``compiler.diagnostics`` installs ``explain``.

This module imports nothing of ours, so the renderer is filled in from above
rather than imported."""


class ValidationError(ComposableAgentsError, ValueError):
    """A strict deploy found blocking diagnostics; ``diagnostics`` holds all of them."""

    non_retryable = True

    def __init__(self, diagnostics: Sequence[Diagnostic], message: str | None = None) -> None:
        self.diagnostics = tuple(diagnostics)
        if message is None:
            message = DIAGNOSTIC_RENDERER[0](self.diagnostics)
        super().__init__(message)


class CapabilityDenied(ComposableAgentsError, PermissionError):
    """A run-time call outside the grant (tool, reasoner, subflow, count, budget)."""

    non_retryable = True


class PlanRejected(ComposableAgentsError, ValueError):
    """A staged plan failed parsing, binding, validation or admission."""

    non_retryable = True


class PureDriftError(ComposableAgentsError, RuntimeError):
    """A pure's source on this worker differs from the hash pinned at deploy."""

    non_retryable = True


class PrincipalRequired(ComposableAgentsError, PermissionError):
    """An effect handler needs a ``principal`` and the run carries none."""

    non_retryable = True


class StepTypeError(ComposableAgentsError, TypeError):
    """A value crossing a typed boundary does not match the boundary's type.

    Carries the step name, the JSON path inside the value, the expected type
    and a short rendering of the value.
    """

    non_retryable = True

    def __init__(self, step: str, path: str, expected: str, value_repr: str) -> None:
        self.step = step
        self.path = path
        self.expected = expected
        self.value_repr = value_repr
        msg = f"step {step!r}: value at {path} is {value_repr}, expected {expected}"
        super().__init__(msg)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.step, self.path, self.expected, self.value_repr))


class UnsupportedOpError(ComposableAgentsError, NotImplementedError):
    """The interpreter reached an op this backend does not run (yet)."""

    non_retryable = True


class MissingFakeError(ComposableAgentsError, LookupError):
    """A local run needs fakes (or handlers) for reasoners or tools it lacks."""

    non_retryable = True


class StepFailed(ComposableAgentsError, RuntimeError):
    """A tool or reasoner step raised; ``node_id`` says where, ``cause`` why."""

    def __init__(self, message: str, *, node_id: str, activation: str) -> None:
        super().__init__(message)
        self.node_id = node_id
        self.activation = activation


class AllBranchesFailed(ComposableAgentsError, RuntimeError):
    """Every branch of a race/hedge/quorum failed; ``errors`` in branch order."""

    def __init__(self, message: str, errors: Sequence[BaseException]) -> None:
        super().__init__(message)
        self.errors = tuple(errors)


class BudgetExceeded(CapabilityDenied):
    """A spend (cost, tokens, wall time, or a tool's ``maxCalls``) was refused."""


class RunError(ComposableAgentsError, RuntimeError):
    """``Result.value`` was read on a run whose status is not ``"ok"``."""

    def __init__(self, status: str, detail: Any = None) -> None:
        self.status = status
        self.detail = detail
        super().__init__(f"run ended with status {status!r}: {detail!r}")


class DefineError(ComposableAgentsError, SyntaxError):
    """A ``@flow`` body used a handle in a way that cannot be traced."""


class DevModeError(ComposableAgentsError, RuntimeError):
    """``run()``/``start()`` of a dev-mode deployment: dev mode is for local runs only."""

    non_retryable = True


class InvalidUsage(ComposableAgentsError, ValueError):
    """A reasoner, controller or child run reported usage that is not a finite, non-negative number.

    Reported usage is outside input (SPEC §22.2): a negative, NaN, infinite,
    string or boolean ``tokens``/``cost`` would disable the budget, so the
    step fails with this error and nothing of the record is credited.
    """

    non_retryable = True


class SegmentLimitExceeded(ComposableAgentsError, RuntimeError):
    """A run asked for more continuation segments than ``ExecutionPolicy(max_segments=...)`` allows."""

    non_retryable = True


POLICY_ERRORS: tuple[type[ComposableAgentsError], ...] = (
    CapabilityDenied,
    PlanRejected,
    ValidationError,
    FreezeError,
    PureDriftError,
    PrincipalRequired,
    StepTypeError,
    InvalidUsage,
    SegmentLimitExceeded,
)


# -- dynamic shapes: agent loops, staged plans, sessions ---------------------


class RunStopped(ComposableAgentsError):
    """A run ended early with a non-``ok``, non-``failed`` status.

    Raised by the agent loop (``escalated``, ``over_budget``, ``max_rounds``,
    ``controller_error``) and by ``stage`` (``plan_rejected``, via
    :class:`StagedPlanRejected`). ``status`` is the :class:`Result` status and
    ``detail`` the JSON record that explains it; a local or durable run turns
    this error into ``Result(status=..., detail=...)`` rather than ``failed``.
    """

    non_retryable = True

    def __init__(self, status: str, detail: dict[str, Any] | None = None, message: str | None = None) -> None:
        self.status = status
        self.detail: dict[str, Any] = dict(detail or {})
        super().__init__(message or f"run stopped with status {status!r}: {self.detail!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.status, self.detail, str(self)))


class StagedPlanRejected(PlanRejected, RunStopped):
    """A ``stage`` planner's plan failed compilation; the run ends ``plan_rejected``.

    Both a :class:`PlanRejected` (a policy verdict) and a :class:`RunStopped`
    (so runners report ``Result(status="plan_rejected")``).

    ``diagnostics`` holds every ``PLAN_*`` (and admission) finding; ``detail``
    is their JSON form for ``Result.detail``.
    """

    def __init__(self, message: str, diagnostics: Sequence[Diagnostic] = ()) -> None:
        Exception.__init__(self, message)
        self.status = "plan_rejected"
        self.diagnostics = tuple(diagnostics)
        self.detail: dict[str, Any] = {
            "reason": "plan_rejected",
            "message": message,
            "diagnostics": [d.to_json() for d in self.diagnostics],
        }

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.diagnostics))


class SessionValidationError(ComposableAgentsError, ValueError):
    """A session flow breaks a recv/emit rule (recv guard, sequential position, placement)."""

    non_retryable = True


class SessionCompileError(ComposableAgentsError, TypeError):
    """``@session`` could not lift a coroutine into a carrier loop (use ``scan``)."""


class SessionClosed(ComposableAgentsError, RuntimeError):
    """A message was sent to (or a turn awaited on) a closed session."""


class ChannelFull(ComposableAgentsError, RuntimeError):
    """A session channel is at capacity; the message was rejected, not queued."""

    def __init__(self, channel: str, capacity: int) -> None:
        self.channel = channel
        self.capacity = capacity
        super().__init__(f"channel {channel!r} is full ({capacity} pending); retry after a turn completes")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.channel, self.capacity))


class IdempotencyConflict(ComposableAgentsError, ValueError):
    """An idempotency key was reused with a different payload."""


class AgentContinue(ComposableAgentsError):
    """An agent loop asks for a fresh history segment (continue-as-new) after its configured rounds.

    ``state`` is the JSON input that resumes the loop exactly where it stopped
    (``{"__agent_resume__": {...}}``); a durable runner restarts the same
    artifact with it. Never raised unless the Env sets ``agent_continue_after``.
    """

    non_retryable = True

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state
        super().__init__("agent loop continues in a new segment")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.state,))


def _restore(cls: type[BaseException], args: tuple[Any, ...], fields: dict[str, Any]) -> BaseException:
    err = cls.__new__(cls)
    BaseException.__init__(err, *args)
    err.__dict__.update(fields)
    return err


class _KeepsFields:
    """Pickles an error by its message and fields (the default re-calls ``__init__`` with the message alone).

    Errors cross process boundaries (worker pools, test subprocesses) with
    their ``status``/``retry_after_s``/``missing`` intact.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        assert isinstance(self, BaseException)
        return (_restore, (type(self), self.args, dict(self.__dict__)))


class ModelNotConfigured(_KeepsFields, ComposableAgentsError, LookupError):
    """Reasoners whose ``model`` no configured provider can call; ``missing`` maps each name to why.

    Raised before the first step (and by a worker hosting them), listing every such reasoner.
    """

    non_retryable = True

    def __init__(self, missing: Mapping[str, str]) -> None:
        self.missing = dict(missing)
        listed = "; ".join(f"{name!r}: {why}" for name, why in self.missing.items())
        super().__init__(f"no model provider for reasoner(s) {listed}")



class ProviderError(_KeepsFields, ComposableAgentsError, RuntimeError):
    """A model provider rejected the request (HTTP 400/401/403/404/413/422): retrying cannot help.

    ``status`` is the HTTP status (0: an unreadable reply), ``type`` the
    provider's error type, ``message`` its text.
    """

    non_retryable = True

    # ``type`` shadows the builtin on purpose: SPEC §17 names the fields ProviderError(status, type, message).
    def __init__(self, status: int, type: str, message: str, *, provider: str = "", model: str = "") -> None:
        self.status = status
        self.type = type
        self.message = message
        self.provider = provider
        self.model = model
        where = f"{provider}:{model}: " if provider else ""
        super().__init__(f"{where}HTTP {status} {type}: {message}")




class ProviderRefusal(_KeepsFields, ComposableAgentsError, RuntimeError):
    """The model refused to answer (a safety refusal or content filter): non-retryable."""

    non_retryable = True

    def __init__(self, message: str, *, provider: str = "", model: str = "") -> None:
        self.provider = provider
        self.model = model
        super().__init__(message)




class ProviderUnavailable(_KeepsFields, ComposableAgentsError, ConnectionError):
    """A transient provider failure (connection, timeout, HTTP 408/409/429/5xx/529): retried.

    ``retry_after_s`` is the server's ``Retry-After``: the local Env waits
    that long before the next attempt, and on Temporal it is the activity's
    next retry delay.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        model: str = "",
        status: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        self.provider = provider
        self.model = model
        self.status = status
        self.retry_after_s = retry_after_s
        super().__init__(message)




class ToolDefinitionMismatch(ComposableAgentsError, RuntimeError):
    """A tool's live definition differs from the frozen one (an MCP server's listing changed, a
    worker runs other tool code): the call is refused before it is made. Non-retryable."""

    non_retryable = True


class ToolRejected(_KeepsFields, ComposableAgentsError, RuntimeError):
    """A tool answered with a failure that retrying cannot fix: an MCP result with ``isError``,
    an HTTP 4xx other than 429, a JSON-RPC error. ``status`` is the HTTP status when there is one."""

    non_retryable = True

    def __init__(self, message: str, *, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)



class ToolUnavailable(_KeepsFields, ComposableAgentsError, ConnectionError):
    """A transient tool failure (a broken MCP transport, a timeout, HTTP 429/5xx): retried where
    the call may retry (read-only or asserted idempotent), else the step fails.

    ``retry_after_s`` is the server's ``Retry-After``: the local Env waits that
    long before the next attempt, and on Temporal it is the activity's next
    retry delay.
    """

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(message)
