"""A local chat session: open once, keep sending, stream events, inspect the carrier.

The session is ``scan(step, init=[])``: each turn the step receives
``{"carrier": history, "msg": message}`` and returns ``[history', reply]``;
the reply is emitted on the ``out`` channel. ``Agent("chat")`` with no
controller is enough to open it; the bot is a reasoner faked here, so it runs
with no API key. ``send`` is idempotent per key: a retried send with the same
key and payload gets the original ack and never runs a second turn.
"""

from __future__ import annotations

import asyncio
from typing import Any, TypedDict

from composable_agents import Agent, Reasoner, arr, fanout, ident, pure, scan, think


class Reply(TypedDict):
    reply: str


chat_bot = Reasoner(
    name="session_demo_bot",
    model="anthropic:claude-haiku-4-5-20251001",
    system="You are a concise assistant. The carrier holds the conversation so far.",
    reply=Reply,
)


@pure("session_demo.remember")
def remember(pair: tuple[Any, Reply]) -> list[Any]:
    """``[{"carrier": history, "msg": m}, {"reply": r}]`` → ``[history + [turn], r]``."""
    turn, answer = pair
    history = [*turn["carrier"], {"user": turn["msg"], "bot": answer["reply"]}]
    return [history, answer["reply"]]


chat = scan(fanout(ident(), think(chat_bot)) >> arr(remember), init=[])


def fake_bot(turn: dict[str, Any]) -> Reply:
    """Answers from the message and how many turns came before."""
    return {"reply": f"({len(turn['carrier']) + 1}) you said: {turn['msg']}"}


async def main() -> dict[str, Any]:
    """Three messages (one retried), then close; return the emitted replies and the final state."""
    handle = await Agent("chat").open(session=chat, reasoners={"session_demo_bot": fake_bot})
    first = await handle.send("hello", idempotency_key="msg-1")
    retried = await handle.send("hello", idempotency_key="msg-1")  # a client retry: same ack, no new turn
    await handle.send("what is a carrier?", idempotency_key="msg-2")
    await handle.close("user left")
    replies = []
    kinds = []
    async for event in handle.events():
        kinds.append(event.kind)
        if event.is_emit:
            replies.append(event.payload)
    state = await handle.state()
    return {
        "same_ack": first == retried,
        "replies": replies,
        "history": state["carrier"],
        "last_event": kinds[-1],
        "turns": kinds.count("turn") // 2,
    }


if __name__ == "__main__":
    print(asyncio.run(main()))
