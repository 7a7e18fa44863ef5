"""``ca chat`` on a real terminal: tmux runs it, send-keys types, capture-pane reads the screen."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_fixtures import FAKE, Ca


@pytest.fixture
def tmux() -> Iterator[str]:
    """A tmux session name; the session is killed afterwards."""
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (scripts/ensure_tmux.sh installs it as root)")
    name = f"ca-chat-{uuid.uuid4().hex[:8]}"
    yield name
    subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True, check=False)


def _screen(session: str) -> str:
    return subprocess.run(["tmux", "capture-pane", "-t", session, "-p"], capture_output=True, text=True, check=True).stdout


def _prompted(screen: str) -> bool:
    lines = [line for line in screen.splitlines() if line.strip()]
    return bool(lines) and lines[-1].rstrip() == ">"


def _until(session: str, text: str, timeout_s: float = 30) -> str:
    """Poll the screen until ``text`` shows (``"> "``: until the REPL waits at an empty prompt)."""
    deadline = time.monotonic() + timeout_s
    while True:
        screen = _screen(session)
        if (text == "> " and _prompted(screen)) or (text != "> " and text in screen):
            return screen
        if time.monotonic() > deadline:
            pytest.fail(f"{text!r} never appeared on the screen:\n{screen}")
        time.sleep(0.05)


def test_chat_repl_in_a_terminal(tmux: str, project: Path) -> None:
    command = f"cd {shlex.quote(str(project))} && {shlex.quote(sys.executable)} -m composable_agents chat echo; sleep 30"
    subprocess.run(["tmux", "new-session", "-d", "-s", tmux, "-x", "100", "-y", "20", command], check=True)
    _until(tmux, "> ")
    subprocess.run(["tmux", "send-keys", "-t", tmux, "hello there", "Enter"], check=True)
    _until(tmux, "< #1: hello there")
    _until(tmux, "> ")
    subprocess.run(["tmux", "send-keys", "-t", tmux, '{"n": 2}', "Enter"], check=True)
    _until(tmux, "< #2: {'n': 2}")
    _until(tmux, "> ")
    subprocess.run(["tmux", "send-keys", "-t", tmux, "/quit", "Enter"], check=True)
    screen = _until(tmux, "bye after 2 turn(s)")
    assert [line for line in screen.splitlines() if line.strip()] == [
        "chat with echo (local); /quit to end",
        "> hello there",
        "< #1: hello there",
        '> {"n": 2}',
        "< #2: {'n': 2}",
        "> /quit",
        "bye after 2 turn(s)",
    ]


def test_chat_refuses_a_flow_and_a_bad_backend(ca: Ca) -> None:
    flow = ca("chat", "triage.v1", stdin="")
    assert flow.returncode == 2 and "triage.v1 is a flow; chat opens a session or an agent" in flow.stderr
    backend = ca("chat", "echo", "--backend", "cma", stdin="")
    assert backend.returncode == 2 and "--backend 'cma': choose local or temporal" in backend.stderr
    piped = ca("chat", "echo", stdin="one\n")
    assert piped.returncode == 0 and "< #1: one" in piped.stdout and piped.stdout.endswith("bye after 1 turn(s)\n")
    unfaked = ca("chat", "helper", "--fake", "helper.controller=support.fakes:controller", stdin="hi\n")
    assert unfaked.returncode == 2 and "no fake for reasoner(s) 'support_reply'" in unfaked.stderr
    agent = ca("chat", "helper", "--fake", "helper.controller=support.fakes:controller", "--fake", FAKE, stdin="hi\n")
    assert agent.returncode == 0 and '< {"answer": "hi"}' in agent.stdout


def test_run_draws_a_rich_tree_in_a_terminal(tmux: str, project: Path) -> None:
    command = (f"cd {shlex.quote(str(project))} && {shlex.quote(sys.executable)} -m composable_agents run triage.v1 "
               f"--input '\"T-1\"' --fake support_reply=support.fakes:support_reply --run-id tty-1; sleep 30")
    subprocess.run(["tmux", "new-session", "-d", "-s", tmux, "-x", "120", "-y", "30", command], check=True)
    screen = _until(tmux, "run id: tty-1")
    lines = screen.splitlines()
    assert lines[:3] == ["run", "└── ✓ seq [seq] $ 0ms $0.0000", "    ├── ✓ lookup_ticket [prim] $.0 0ms $0.0000"]
    assert "    │       └── ✓ support_reply [prim] $.1.1.1 0ms $0.0000" in lines
    assert "status: ok" in lines
