"""Tests for the pure registry: pins, idempotent registration, drift, lookups."""

from __future__ import annotations

import hashlib
import inspect
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from composable_agents.authoring.leaves import pure
from composable_agents.core.pures import DEFAULT_REGISTRY, Registry, register_pure, source_hash
from composable_agents.errors import RegistryError


def double(x: int) -> int:
    return x * 2


def double_again(x: int) -> int:
    return x * 2 + 0


def scale(x: int, factor: int = 1) -> int:
    return x * factor


def test_same_name_same_body_is_idempotent() -> None:
    reg = Registry()
    first = reg.register_pure("t.double", double)
    second = reg.register_pure("t.double", double)
    assert first.source_hash == second.source_hash
    assert reg.pure("t.double").fn is double
    assert list(reg.pures) == ["t.double"]


def test_different_body_under_a_taken_name_raises() -> None:
    reg = Registry()
    reg.register_pure("t.double", double)
    with pytest.raises(RegistryError, match="t.double"):
        reg.register_pure("t.double", double_again)
    assert reg.pure("t.double").fn is double
    replaced = reg.register_pure("t.double", double_again, replace=True)
    assert reg.pure("t.double") is replaced


def test_source_hash_is_sha256_of_the_dedented_source_and_stable() -> None:
    expected = "sha256:" + hashlib.sha256(textwrap.dedent(inspect.getsource(double)).encode()).hexdigest()
    assert source_hash(double) == expected
    assert source_hash(double) == source_hash(double)
    assert source_hash(double) != source_hash(double_again)


def test_source_hash_is_stable_across_processes(tmp_path: Any) -> None:
    module = tmp_path / "pinned_mod.py"
    module.write_text("def body(x):\n    return [x, 'pinned']\n")
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import pinned_mod; from composable_agents.core.pures import source_hash;"
        "print(source_hash(pinned_mod.body))"
    )
    outs = {
        subprocess.run(
            [sys.executable, "-c", code, str(tmp_path)],
            capture_output=True, text=True, check=True, env={"PYTHONHASHSEED": seed, "PATH": ""},
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert len(outs) == 1
    (digest,) = outs
    assert digest == "sha256:" + hashlib.sha256(module.read_bytes()).hexdigest()


def test_hash_falls_back_to_the_code_object_without_source() -> None:
    namespace: dict[str, Any] = {}
    exec("def made(x):\n    return x + 41\n", namespace)  # noqa: S102 - no source file on purpose
    exec("def other(x):\n    return x + 42\n", namespace)  # noqa: S102
    first = source_hash(namespace["made"])
    assert first.startswith("sha256:") and first == source_hash(namespace["made"])
    assert first != source_hash(namespace["other"])


def test_boundary_types_and_arg_flags() -> None:
    reg = Registry()
    one = reg.register_pure("t.double", double)
    assert one.in_type is int and one.out_type is int and one.takes_args is False
    two = reg.register_pure("t.scale", scale)
    assert two.takes_args is True
    untyped = reg.register_pure("t.untyped", lambda v: v)
    assert untyped.in_type is Any and untyped.out_type is Any


def test_bad_registrations_raise() -> None:
    reg = Registry()
    with pytest.raises(RegistryError):
        reg.register_pure("", double)
    with pytest.raises(RegistryError):
        reg.register_pure("t.x", 3)  # type: ignore[arg-type]
    with pytest.raises(RegistryError, match="no pure named"):
        reg.pure("t.absent")
    assert not reg.has_pure("t.absent")


def test_decorator_registers_and_stays_callable() -> None:
    reg = Registry()

    @pure("t.inc", registry=reg)
    def inc(x: int) -> int:
        return x + 1

    assert inc(1) == 2
    assert reg.pure("t.inc").source_hash == source_hash(inc.definition.fn)
    assert inc.pure_name == "t.inc"
    assert inc.to_json() == {"op": "arr", "id": "$", "pure": "t.inc"}
    with pytest.raises(RegistryError):

        @pure("t.inc", registry=reg)
        def inc2(x: int) -> int:
            return x + 2


def test_default_registry_helper_and_copy() -> None:
    name = "t.test_pures.default_helper"
    definition = register_pure(name, double)
    assert DEFAULT_REGISTRY.pure(name) is definition
    again = register_pure(name, double)
    assert again == definition
    copy = DEFAULT_REGISTRY.copy()
    assert copy.pure(name) is again
    copy.register_pure(name, double_again, replace=True)
    assert DEFAULT_REGISTRY.pure(name).fn is double
