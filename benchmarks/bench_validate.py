"""Micro-benchmark of the compiled boundary validator.

Prints microseconds per ``is_valid`` and per ``check`` for a 10-field
TypedDict (valid and invalid values), beside the ``jsonschema`` package on
the same schema in the same process when it is installed (baseline ratio).

Run: ``.venv/bin/python benchmarks/bench_validate.py``
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NotRequired, TypedDict

from composable_agents.core.schema import SchemaViolation, schema_of, validator_for


class Address(TypedDict):
    street: str
    zip_code: str


class Person(TypedDict):
    name: str
    age: int
    height: float
    active: bool
    tags: list[str]
    nickname: str | None
    address: Address
    score: float
    email: NotRequired[str]
    friends: list[str]


VALID: Person = {
    "name": "Ada",
    "age": 36,
    "height": 1.7,
    "active": True,
    "tags": ["math", "engines", "poetry"],
    "nickname": None,
    "address": {"street": "1 St James's Square", "zip_code": "SW1Y"},
    "score": 99,
    "email": "ada@example.org",
    "friends": ["Charles", "Mary"],
}
INVALID = {**VALID, "tags": ["math", 7]}  # the last property checked is wrong


def per_call_us(fn: Callable[[], object], budget_s: float = 0.4) -> float:
    """Microseconds per call of ``fn``, best of five timed batches."""
    n = 1
    while True:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed > budget_s / 10:
            break
        n *= 2
    best = elapsed / n
    for _ in range(4):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - start) / n)
    return best * 1e6


def main() -> None:
    validator = validator_for(Person)
    assert validator.is_valid(VALID) and not validator.is_valid(INVALID)

    def check_invalid() -> None:
        try:
            validator.check(INVALID)
        except SchemaViolation:
            return
        raise AssertionError("invalid value passed")

    ours = {
        "is_valid valid": per_call_us(lambda: validator.is_valid(VALID)),
        "is_valid invalid": per_call_us(lambda: validator.is_valid(INVALID)),
        "check valid": per_call_us(lambda: validator.check(VALID)),
        "check invalid": per_call_us(check_invalid),
    }
    for label, us in ours.items():
        print(f"composable_agents {label:<17} {us:8.3f} us")

    try:
        import jsonschema
    except ImportError:
        print("jsonschema not installed: no baseline")
        return
    ref = jsonschema.Draft202012Validator(schema_of(Person))
    base = {
        "is_valid valid": per_call_us(lambda: ref.is_valid(VALID)),
        "is_valid invalid": per_call_us(lambda: ref.is_valid(INVALID)),
    }
    for label, us in base.items():
        print(f"jsonschema        {label:<17} {us:8.3f} us  (x{us / ours[label]:.1f} slower)")


if __name__ == "__main__":
    main()
