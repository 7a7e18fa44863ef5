"""The package map of SPEC §16 holds (scripts/check_layout.py), and the checker catches each breach."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("check_layout", ROOT / "scripts" / "check_layout.py")
assert _spec is not None and _spec.loader is not None
check_layout = importlib.util.module_from_spec(_spec)
sys.modules["check_layout"] = check_layout
_spec.loader.exec_module(check_layout)

PKG = ROOT / "src" / "composable_agents"


def test_the_layout_holds() -> None:
    assert check_layout.check(PKG) == []


def test_the_face_uses_find_spec_for_have_temporal() -> None:
    text = (PKG / "__init__.py").read_text()
    assert 'find_spec("temporalio")' in text


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "composable_agents"
    base = {
        "__init__.py": '"""Face."""\nimport importlib.util\nHAVE = importlib.util.find_spec("temporalio")\n',
        "errors.py": '"""Errors."""\n',
        "core/__init__.py": "",
        "core/ir.py": '"""IR."""\n',
        "execution/__init__.py": "",
        "execution/interp.py": '"""Interp."""\n',
        "temporal/__init__.py": "",
        "temporal/worker.py": '"""Worker."""\nimport temporalio\n',
    }
    for name, text in {**base, **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.fixture(autouse=True)
def _restore_root() -> object:
    yield
    check_layout.ROOT = PKG


def test_a_clean_synthetic_package_passes(tmp_path: Path) -> None:
    assert check_layout.check(_package(tmp_path, {})) == []


def test_an_upward_module_import_is_reported(tmp_path: Path) -> None:
    root = _package(tmp_path, {"core/ir.py": '"""IR."""\nfrom composable_agents.execution import interp\n'})
    problems = check_layout.check(root)
    assert any("core/ir.py:2" in p and "core -> execution" in p and "rule 1" in p for p in problems), problems


def test_an_upward_function_import_needs_a_seam_comment(tmp_path: Path) -> None:
    body = '"""IR."""\n\ndef f():\n    from composable_agents.execution import interp\n    return interp\n'
    problems = check_layout.check(_package(tmp_path, {"core/ir.py": body}))
    assert any("without a '# seam: why' comment" in p for p in problems), problems
    seamed = body.replace("    from", "    # seam: the core asks the runtime here\n    from")
    assert check_layout.check(_package(tmp_path, {"core/ir.py": seamed})) == []


def test_too_many_seams_are_reported(tmp_path: Path) -> None:
    fns = "".join(
        f"\ndef f{i}():\n    # seam: test\n    from composable_agents.execution import interp\n    return interp\n"
        for i in range(6)
    )
    problems = check_layout.check(_package(tmp_path, {"core/ir.py": '"""IR."""\n' + fns}))
    assert any("6 upward seams, at most 5" in p for p in problems), problems


def test_type_checking_imports_are_exempt(tmp_path: Path) -> None:
    body = '"""IR."""\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from composable_agents.execution import interp\n'
    assert check_layout.check(_package(tmp_path, {"core/ir.py": body})) == []


def test_temporalio_outside_temporal_is_reported(tmp_path: Path) -> None:
    problems = check_layout.check(_package(tmp_path, {"execution/interp.py": '"""I."""\ndef f():\n    import temporalio.client\n'}))
    assert any("imports temporalio outside temporal/" in p for p in problems), problems


def test_shims_are_small_and_never_imported(tmp_path: Path) -> None:
    shim = '"""Shim: the IR lives in core.ir."""\nfrom composable_agents.core.ir import *\nX = 1\n'
    user = '"""Interp."""\nfrom composable_agents import kinds\n'
    problems = check_layout.check(_package(tmp_path, {"kinds.py": shim, "execution/interp.py": user}))
    assert any("kinds.py:3: a shim holds only" in p for p in problems), problems
    assert any("imports the shim composable_agents.kinds" in p for p in problems), problems
    long_shim = '"""Shim."""\n' + "import os\n" * 45
    problems = check_layout.check(_package(tmp_path, {"kinds.py": long_shim}))
    assert any("a shim of 46 lines" in p for p in problems), problems


def test_big_modules_and_cycles_are_reported(tmp_path: Path) -> None:
    files = {
        "core/a.py": '"""A."""\nfrom composable_agents.core import b\n',
        "core/b.py": '"""B."""\nfrom composable_agents.core import a\n' + "x = 1\n" * 800,
    }
    problems = check_layout.check(_package(tmp_path, files))
    assert any("core/b.py: 802 lines" in p for p in problems), problems
    assert any("import cycle at module level (rule 4): core.a -> core.b" in p for p in problems), problems
