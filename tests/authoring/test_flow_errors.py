"""Every ``@flow`` define-time error: a ``DefineError`` (a ``SyntaxError``) with the user's file, line and a hint.

Each offending line carries a ``# L:<tag>`` marker; the test looks the line up
in this file's source, so the asserted line numbers are never hard-coded.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from composable_agents import Reasoner, each, flow, pure, think, tool
from composable_agents.errors import DefineError

HERE = Path(__file__).resolve()
SOURCE = HERE.read_text().splitlines()


def line_of(tag: str) -> int:
    marker = f"# L:{tag}"
    hits = [i + 1 for i, text in enumerate(SOURCE) if text.rstrip().endswith(marker)]
    assert len(hits) == 1, (tag, hits)
    return hits[0]


def define_error(build: Callable[[], Any], tag: str, *phrases: str) -> DefineError:
    with pytest.raises(DefineError) as info:
        build()
    err = info.value
    assert isinstance(err, SyntaxError)
    assert Path(str(err.filename)).resolve() == HERE
    assert err.lineno == line_of(tag), str(err)
    text = str(err)
    assert f"{HERE.name}:{line_of(tag)}" in text
    assert "hint:" in text
    for phrase in phrases:
        assert phrase in text, (phrase, text)
    return err


@tool(effect="read", idempotent=True)
def te_fetch(q: str) -> dict[str, Any]:
    return {"q": q}


@tool(effect="read", idempotent=True)
def te_pair(query: str, limit: int) -> list[str]:
    return [query] * limit


@pure("te.upper")
def te_upper(text: str) -> str:
    return text.upper()


te_writer = Reasoner(name="te_writer", model="fake:model")


def json_helper(value: Any) -> str:
    return json.dumps(value)


def attr_helper(value: Any) -> Any:
    return value.strip()


# -- control flow on handles -------------------------------------------------------------------


def test_if_on_a_handle() -> None:
    def build() -> Any:
        @flow
        def f(q: str) -> Any:
            hit = te_fetch(q)
            if hit:  # L:if
                return hit
            return te_fetch(q)

    define_error(build, "if", "`if` on a handle", "cond(")


def test_while_and_bool_and_not() -> None:
    def build_while() -> Any:
        @flow
        def f(q: str) -> Any:
            while q:  # L:while
                pass
            return te_fetch(q)

    define_error(build_while, "while", "`while` on a handle")

    def build_bool() -> Any:
        @flow
        def f(q: str) -> Any:
            flag = bool(q)  # L:bool
            return te_fetch(flag)

    define_error(build_bool, "bool", "bool() of a handle")

    def build_and() -> Any:
        @flow
        def f(q: str) -> Any:
            return q and te_fetch(q)  # L:and

    define_error(build_and, "and", "`and/or` on a handle")


def test_for_over_a_handle() -> None:
    def build() -> Any:
        @flow
        def f(items: list[str]) -> Any:
            for item in items:  # L:for
                te_upper(item)
            return items

    define_error(build, "for", "`for` over a handle", "each(body, items")


def test_tuple_unpacking_a_handle() -> None:
    def build() -> Any:
        @flow
        def f(q: str) -> Any:
            a, b = te_fetch(q)  # L:unpack
            return te_upper(a)

    define_error(build, "unpack", "tuple-unpacking a handle", "h['a']")


@pytest.mark.parametrize(
    ("tag", "phrase"),
    [("len", "len() of a handle"), ("str", "str() of a handle"), ("fmt", "formatting a handle"),
     ("add", "arithmetic or comparison `+`"), ("attr", "`handle.lower`: attribute access"),
     ("index", "only a constant string key"), ("eq", "comparing a handle with ==")],
)
def test_value_operations_on_a_handle(tag: str, phrase: str) -> None:
    def build() -> Any:
        @flow
        def f(q: str) -> Any:
            if tag == "len":
                len(q)  # L:len
            elif tag == "str":
                str(q)  # L:str
            elif tag == "fmt":
                _ = f"{q}"  # L:fmt
            elif tag == "add":
                _ = q + "x"  # L:add
            elif tag == "attr":
                _ = q.lower  # L:attr
            elif tag == "index":
                _ = q[0]  # L:index
            elif tag == "eq":
                _ = q == "x"  # L:eq
            return te_fetch(q)

    define_error(build, tag, phrase)


# -- callables --------------------------------------------------------------------------------


def test_unregistered_callable() -> None:
    def build() -> Any:
        @flow
        def f(q: str) -> Any:
            text = json_helper(q)  # L:helper
            return te_fetch(text)

    define_error(build, "helper", "unregistered callable", "@pure")

    def build_attr() -> Any:
        @flow
        def g(q: str) -> Any:
            text = attr_helper(q)  # L:helper_attr
            return te_fetch(text)

    define_error(build_attr, "helper_attr", "unregistered callable", "attribute access")


def test_step_with_constants_only() -> None:
    def build() -> Any:
        @flow
        def f(q: str) -> Any:
            fixed = te_upper("constant")  # L:const_only
            return te_fetch(q)

    define_error(build, "const_only", "a step needs a handle input")


def test_unsaturated_flow_and_tool() -> None:
    @flow
    def two(query: str, limit: int) -> list[str]:
        return te_pair(query=query, limit=limit)

    def build() -> Any:
        @flow
        def f(q: str) -> Any:
            return two(query=q)  # L:unsaturated

    define_error(build, "unsaturated", "unsaturated flow 'two'", "missing argument(s) ['limit']")

    def build_tool() -> Any:
        @flow
        def g(q: str) -> Any:
            return te_pair(q)  # L:unsaturated_tool

    define_error(build_tool, "unsaturated_tool", "unsaturated tool 'te_pair'", "['limit']")


# -- names and scopes --------------------------------------------------------------------------


def test_rebinding_a_name() -> None:
    def build() -> Any:
        @flow
        def f(q: str) -> Any:
            hit = te_fetch(q)
            hit = te_fetch(q)  # L:rebind
            return hit

    define_error(build, "rebind", "rebinding 'hit'", "single-assignment")

    def build_param() -> Any:
        @flow
        def g(q: str) -> Any:
            q = te_upper(q)  # L:rebind_param
            return q

    define_error(build_param, "rebind_param", "rebinding 'q'")


def test_unused_parameter() -> None:
    def build() -> Any:
        @flow
        def f(
            q: str,
            unused: int,  # L:unused
        ) -> Any:
            return te_fetch(q)

    define_error(build, "unused", "unused parameter 'unused'")


leaked: list[Any] = []


def test_foreign_scope_capture() -> None:
    @flow
    def first(q: str) -> Any:
        hit = te_upper(q)
        leaked.append(hit)
        return hit

    def build() -> Any:
        @flow
        def second(q: str) -> Any:
            other = te_fetch(leaked[0])  # L:foreign
            return te_fetch(q) | other

    define_error(build, "foreign", "foreign-scope capture", "'first'")


# -- constants ---------------------------------------------------------------------------------


def test_secret_non_json_and_oversized_captures() -> None:
    def build_secret() -> Any:
        @flow
        def f(q: str) -> Any:
            return think(te_writer, q, api_key="sk-live-abcdefghijklmnop123456")  # L:secret

    define_error(build_secret, "secret", "secret-shaped capture", "api_key")

    client = object()

    def build_object() -> Any:
        @flow
        def g(q: str) -> Any:
            return think(te_writer, q, client=client)  # L:nonjson

    define_error(build_object, "nonjson", "non-JSON capture", "'client'")

    blob = "x" * (64 * 1024 + 1)

    def build_big() -> Any:
        @flow
        def h(q: str) -> Any:
            return think(te_writer, q, blob=blob)  # L:big

    define_error(build_big, "big", "oversized capture", "65536")

    def build_each() -> Any:
        @flow
        def k(items: list[str]) -> Any:
            return each(te_upper, items, token="ghp_abcdefghijklmnopqrstuvwxyz0123")  # L:each_secret

    define_error(build_each, "each_secret", "secret-shaped capture")


# -- returns -----------------------------------------------------------------------------------


def test_non_handle_return() -> None:
    def build() -> Any:
        @flow
        def f(q: str) -> Any:
            te_fetch(q)
            return "done"  # L:return

    define_error(build, "return", "non-handle return", "returns a str")

    def build_none() -> Any:
        @flow
        def g(q: str) -> Any:  # L:return_none
            te_fetch(q)

    define_error(build_none, "return_none", "non-handle return", "None")


def test_bad_step_options() -> None:
    def build() -> Any:
        @flow
        def f(q: str) -> Any:
            return te_fetch(q, retries=-1)  # L:retries

    define_error(build, "retries", "retries=-1")
