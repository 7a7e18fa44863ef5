"""The mypy plugin for composable-agents: ``plugins = composable_agents.mypy``.

It reports ``any-edge`` errors (a ``>>``/``seq`` edge where exactly one side's
declared boundary type is ``Any``) and keeps the shape join exact when an
operand has ``Any`` type arguments (where mypy's overload resolution would
otherwise give up and return ``Any``), and types ``human_gate(...)`` as the
pass-through it is (``x >> gate`` keeps ``x``'s output; in ``seq`` the step
after a gate is checked against it), and lets a multi-parameter tool's call
take the step options (``retries=``, ...) its ``ParamSpec`` signature cannot
declare. Everything else is plain overloads in
the library, so code type-checks without the plugin, only less strictly.
"""

from composable_agents.mypy._plugin import plugin

__all__ = ["plugin"]
