"""``ca chat NAME``: a terminal REPL on a session (``--backend local`` in memory, ``temporal`` durable).

Each line typed is one message (JSON when it parses as JSON, else the text);
the session's emitted payloads are printed as they come, until the turn is
done. ``/quit`` (or end of input) closes the session.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

import typer

from composable_agents.cli.common import Address, Modules, PathOpt, connect, load, resolve_address
from composable_agents.cli.console import USAGE, abort, console

__all__ = ["chat", "chat_loop", "open_chat"]


async def open_chat(project: Any, name: str, *, backend: str, fakes: dict[str, Any], address: str | None) -> Any:
    """Open a session handle on the session (or agent) ``name``."""
    from composable_agents.agents.sessions import open_session

    entry = project.get(name)
    if entry.kind not in ("session", "agent"):
        abort(f"{name} is a {entry.kind}; chat opens a session or an agent", USAGE)
    flow = entry.obj if entry.kind == "session" else None
    agent = entry.obj if entry.kind == "agent" else None
    if backend == "temporal":
        client = await connect(resolve_address(address, project.config.root))
        return await open_session(flow, agent=agent, backend="temporal", client=client)
    from composable_agents.errors import MissingFakeError

    try:
        return await open_session(flow, agent=agent, backend="local", reasoners=fakes)
    except MissingFakeError as exc:
        abort(f"{exc} (use --fake NAME=module:fn)", USAGE)


def _message(line: str) -> Any:
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        return line


async def chat_loop(handle: Any, read: Any) -> int:
    """Read lines with ``read(prompt)`` until ``/quit`` or EOF, printing each turn's events; returns the turn count."""
    loop = asyncio.get_running_loop()
    events = handle.events().__aiter__()
    turns = 0
    while True:
        try:
            line = await loop.run_in_executor(None, read, "> ")
        except EOFError:
            break
        line = line.strip()
        if not line:
            continue
        if line in ("/quit", "/exit"):
            break
        await handle.send(_message(line))
        turns += 1
        while True:
            event = await events.__anext__()
            if event.kind == "emit":
                payload = event.payload
                console.line(f"< {payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)}")
            elif event.kind == "error":
                console.line(f"! {event.reason}")
            elif event.kind == "closed":
                console.line(f"session closed: {event.reason}")
                return turns
            elif event.kind == "turn" and event.turn == "done":
                break
    await handle.close()
    return turns


def chat(
    name: Annotated[str, typer.Argument(help="The session (or agent) to talk to.")],
    backend: Annotated[str, typer.Option("--backend", help="local (in memory) or temporal (durable).")] = "local",
    fake: Annotated[list[str] | None, typer.Option("--fake", help="REASONER=module:fn (local backend).")] = None,
    address: Address = None,
    modules: Modules = None,
    path: PathOpt = None,
) -> None:
    """Talk to a session in the terminal; /quit ends it."""
    from composable_agents.cli.runs import fakes_from

    if backend not in ("local", "temporal"):
        abort(f"--backend {backend!r}: choose local or temporal", USAGE)
    project = load(path, modules)
    fakes = fakes_from(fake)

    async def main() -> int:
        handle = await open_chat(project, name, backend=backend, fakes=fakes, address=address)
        console.line(f"chat with {name} ({backend}); /quit to end")
        return await chat_loop(handle, input)

    turns = asyncio.run(main())
    console.line(f"bye after {turns} turn(s)")
