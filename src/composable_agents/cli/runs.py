"""Runs and the trace store: building fakes from ``--fake``, opening the project's store, recording a run.

The store itself is :mod:`composable_agents.integrations.store` (SPEC §20);
this module only resolves the project's ``store`` URL against the project root
(``sqlite:///.ca/traces.db`` means ``<root>/.ca/traces.db``, not the working
directory's) and keeps the verbs free of its import when they do not record.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from composable_agents.cli.console import USAGE, abort

if TYPE_CHECKING:
    from composable_agents.integrations.store import TraceStore

__all__ = ["fakes_from", "live_llm", "open_store", "record_run", "store_url"]


def fakes_from(specs: list[str] | None) -> dict[str, Any]:
    """``--fake reasoner=module:fn`` options as ``{reasoner: fn}``."""
    out: dict[str, Any] = {}
    for spec in specs or []:
        name, eq, target = spec.partition("=")
        module, colon, attr = target.partition(":")
        if not (eq and colon and name and module and attr):
            abort(f"--fake {spec!r}: write --fake REASONER=MODULE:FUNCTION", USAGE)
        try:
            fn = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            abort(f"--fake {spec!r}: cannot load {target}: {exc}", USAGE)
        if not callable(fn):
            abort(f"--fake {spec!r}: {target} is not callable", USAGE)
        out[name] = fn
    return out


def live_llm() -> Any:
    """``models.router()`` for ``--live``."""
    from composable_agents.integrations.models import router

    return router()


def store_url(url: str, root: Path) -> str:
    """``url`` with a relative SQLite path made absolute against the project ``root``."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/"):
        path = (root / url[len(prefix):]).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        return prefix + str(path)
    return url


def open_store(config: Any) -> TraceStore:
    """The project's ``TraceStore``."""
    from composable_agents.integrations.store import TraceStore

    return TraceStore.open(store_url(config.store, config.root))


def record_run(config: Any, result: Any, flow: str) -> None:
    """Put ``result`` in the project's trace store."""
    with open_store(config) as store:
        store.put_run(result, flow=flow)
