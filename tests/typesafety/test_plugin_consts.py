"""The plugin's copies of library facts (it never imports the library) match the library."""

from __future__ import annotations

from composable_agents.authoring import leaves
from composable_agents.mypy import _consts


def test_runtime_params_match() -> None:
    assert _consts.RUNTIME_PARAMS == leaves.RUNTIME_PARAMS


def test_step_options_match() -> None:
    assert {name for name, _ in _consts.STEP_OPTION_TYPES} == leaves.STEP_OPTIONS
