"""The ``ca`` command line: one module per verb (SPEC §19); ``app.main`` is the entry point.

Needs the ``cli`` extra (typer, rich): without it importing this package
raises an ``ImportError`` naming ``pip install 'composable-agents[cli]'``.
Verb modules import the heavy layers (deploy, temporalio, rich) inside their
functions, so ``ca ls`` pays only for discovery.
"""

import importlib.util

if importlib.util.find_spec("typer") is None:  # pragma: no cover - depends on the environment
    msg = "the ca command line needs typer and rich: pip install 'composable-agents[cli]'"
    raise ImportError(msg)

__all__: list[str] = []
