"""Every module of the package states its job, declares ``__all__``, and documents its public names."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import composable_agents


def _modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(composable_agents.__path__, "composable_agents."))


def test_every_module_has_a_docstring_and_all() -> None:
    problems: list[str] = []
    for name in _modules():
        module = importlib.import_module(name)
        if not (module.__doc__ or "").strip():
            problems.append(f"{name}: no module docstring")
        if not name.rsplit(".", 1)[-1].startswith("_") and not hasattr(module, "__all__"):
            problems.append(f"{name}: no __all__")
    assert problems == []


def test_every_public_name_is_documented() -> None:
    problems: list[str] = []
    for name in _modules():
        module = importlib.import_module(name)
        for public in getattr(module, "__all__", ()):
            obj = getattr(module, public, None)
            if obj is None:
                problems.append(f"{name}.{public}: listed in __all__ but absent")
            elif (inspect.isclass(obj) or inspect.isfunction(obj)) and not (obj.__doc__ or "").strip():
                problems.append(f"{name}.{public}: no docstring")
    assert problems == []
