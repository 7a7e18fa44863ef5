"""SPEC §22.10: the seed's ``@session`` coroutine form compiles to the same ``loop`` as ``scan``.

Locals the setup assigns live across turns (the carrier); each ``while True``
round is one turn; the plain turn-function form keeps working beside it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from composable_agents.agents.agent import Agent
from composable_agents.agents.sessions import session
from composable_agents.errors import SessionCompileError


@session(name="trs.chat.coroutine")
async def chat(s):  # type: ignore[no-untyped-def]
    total = 0
    while True:
        msg = await s.recv()
        total = total + msg
        await s.emit(total)


@session(name="trs.chat.plain")
def chat_plain(msg: int, total: int = 0) -> int:
    total = total + msg
    return total


def _shape(flow: Any) -> str:
    doc = flow.to_json()
    return json.dumps(doc).replace("trs.chat.coroutine", "X").replace("trs.chat.plain", "X")


def test_the_coroutine_form_lowers_to_the_same_loop_as_the_plain_form() -> None:
    node = chat.to_ir()
    assert node.OP == "loop" and node.init == {"total": 0}  # type: ignore[attr-defined]
    assert _shape(chat) == _shape(chat_plain)


async def test_the_coroutine_form_runs_turn_by_turn_with_its_locals_carried() -> None:
    handle = await Agent("trs.sess").open(session=chat)
    for m in (1, 2, 3):
        await handle.send(m)
    await handle.close()
    events = [e async for e in handle.events()]
    assert [e.payload for e in events if e.is_emit] == [1, 3, 6]
    assert (await handle.state())["carrier"] == {"total": 6}


async def test_several_locals_history_and_channels() -> None:
    @session(name="trs.chat.history")
    async def history(s):  # type: ignore[no-untyped-def]
        seen = []
        turns = 0
        while True:
            text = await s.recv("user")
            turns = turns + 1
            seen = [*seen, text]
            reply = f"{turns}: {' / '.join(seen)}"
            await s.emit(reply, "bot")

    assert history.to_ir().init == {"seen": [], "turns": 0}  # type: ignore[attr-defined]
    doc = json.dumps(history.to_json())
    assert '"channel": "user"' in doc and '"channel": "bot"' in doc


@pytest.mark.parametrize(
    ("source", "phrase"),
    [
        ("async def f(s):\n    n = 0\n    while True:\n        n = n + 1\n        m = await s.recv()\n", "must start with"),
        (
            "async def f(s):\n    while True:\n        m = await s.recv()\n        await s.emit(m)\n        await s.emit(m)\n",
            "at most once",
        ),
        ("async def f(s):\n    bag = {1, 2}\n    while True:\n        m = await s.recv()\n        await s.emit(m)\n", "not JSON"),
        ("async def f(s):\n    while True:\n        m = await s.recv()\n        break\n", "break"),
        (
            "async def f(s):\n    while True:\n        m = await s.recv()\n        await s.emit(await other(m))\n",
            "awaits only",
        ),
    ],
)
def test_what_the_coroutine_form_cannot_lower_is_a_compile_error(tmp_path: Any, source: str, phrase: str) -> None:
    import importlib.util

    path = tmp_path / f"trs_sess_{abs(hash(source)) % 10**8}.py"
    path.write_text("async def other(x):\n    return x\n\n\n" + source)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with pytest.raises(SessionCompileError, match=phrase):
        session(name=f"trs.bad.{path.stem}")(module.f)
