"""The LLM seam of local runs: an ``llm(reasoner, value)`` callable turned into per-reasoner fakes.

``Deployment.dry_run(..., llm=)``, ``Agent(llm=)`` and local sessions answer
every reasoner without a fake in ``reasoners=`` through one LLM (SPEC §17);
:func:`llm_fake` adapts it to the fake calling convention the
:class:`~composable_agents.execution.env.InMemoryEnv` uses, and
:func:`check_models` lets an LLM that knows its limits (``models.router()``)
refuse unservable reasoners before the first step. Rejected alternative:
importing the router here — the execution layer sits below ``integrations``;
the check is a duck-typed ``check(reasoners)`` method instead.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from composable_agents.core.canonical import Json, JsonObject
from composable_agents.execution.env import call_with_runtime_params

if TYPE_CHECKING:
    from composable_agents.authoring.leaves import Reasoner

__all__ = ["check_models", "llm_fake"]


def llm_fake(llm: Callable[..., Any], definition: Any) -> Callable[..., Any]:
    """A ``reasoners=`` entry answering through ``llm(definition, value)``.

    The fake declares ``principal=`` and ``offer=`` so the Env hands them on;
    ``llm`` receives only the ones it declares itself.
    """

    async def fake(value: Json, *, principal: Json = None, offer: JsonObject | None = None) -> Any:
        runtime: dict[str, Any] = {}
        if principal is not None:
            runtime["principal"] = principal
        if offer is not None:
            runtime["offer"] = offer
        out = call_with_runtime_params(llm, (definition, value), {}, runtime)
        if inspect.isawaitable(out):
            out = await out
        return out

    return fake


def check_models(llm: Callable[..., Any], definitions: Sequence[Reasoner[Any, Any] | str]) -> None:
    """Let ``llm`` refuse reasoners it cannot serve before the first step.

    An LLM with a ``check(reasoners)`` method (``models.router()`` has one,
    raising ``ModelNotConfigured`` listing every such reasoner) is asked; a
    plain function is trusted. A bare name stands for a reasoner without a
    definition (an agent built without ``reasoner=``).
    """
    check = getattr(llm, "check", None)
    if callable(check) and definitions:
        check(list(definitions))
