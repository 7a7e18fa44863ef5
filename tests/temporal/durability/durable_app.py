"""Tools, pures and flows of the durability tests (imported by the tests and by worker processes).

The tool-side store is a SQLite file (``$CA_DURABLE_STORE``): every attempt
of a tool is logged in ``attempts``; the idempotent ``dur_apply`` applies its
effect at most once per idempotency key (check-then-insert in one
transaction, logged in ``effects``); the non-idempotent ``dur_write_once``
logs every execution in ``writes`` *before* it sleeps, so an execution that a
crash cut short still shows.
"""

from __future__ import annotations

import os
import sqlite3
import time
from typing import Any

from composable_agents import Ann, arr, pure, seq, tool
from composable_agents.agents.sessions import scan
from composable_agents.authoring.derived import human_gate

APPLY_S = float(os.environ.get("CA_DURABLE_APPLY_S", "0.3"))
"""How long one ``dur_apply`` attempt works before applying its effect."""

TIMEOUT_S = float(os.environ.get("CA_DURABLE_TIMEOUT_S", "2.0"))
"""start-to-close timeout of one tool attempt (how soon a lost attempt is retried)."""


def _db() -> sqlite3.Connection:
    path = os.environ["CA_DURABLE_STORE"]
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    return conn


def init_store(path: str) -> None:
    """Create the store's tables at ``path``."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE IF NOT EXISTS attempts (key TEXT, pid INTEGER, at REAL)")
    conn.execute("CREATE TABLE IF NOT EXISTS applied (key TEXT PRIMARY KEY, item TEXT)")
    conn.execute("CREATE TABLE IF NOT EXISTS effects (key TEXT, item TEXT, pid INTEGER)")
    conn.execute("CREATE TABLE IF NOT EXISTS writes (key TEXT, item TEXT, pid INTEGER, done INTEGER)")
    conn.close()


def rows(path: str, sql: str) -> list[tuple[Any, ...]]:
    """Run a read query against the store at ``path``."""
    conn = sqlite3.connect(path, timeout=30)
    try:
        return list(conn.execute(sql))
    finally:
        conn.close()


@tool(
    name="dur_apply",
    effect="write",
    idempotent=True,
    ann=Ann(timeout_s=TIMEOUT_S, max_attempts=50, retry_interval_s=0.1, backoff_rate=1.0),
)
def dur_apply(item: str, *, idempotency_key: str) -> str:
    """Slow and idempotent: applies ``item`` once per idempotency key."""
    conn = _db()
    try:
        conn.execute("INSERT INTO attempts VALUES (?, ?, ?)", (idempotency_key, os.getpid(), time.time()))
        time.sleep(APPLY_S)
        conn.execute("BEGIN IMMEDIATE")
        found = conn.execute("SELECT item FROM applied WHERE key = ?", (idempotency_key,)).fetchone()
        if found is None:
            conn.execute("INSERT INTO applied VALUES (?, ?)", (idempotency_key, item))
            conn.execute("INSERT INTO effects VALUES (?, ?, ?)", (idempotency_key, item, os.getpid()))
        conn.execute("COMMIT")
    finally:
        conn.close()
    return f"applied:{item}"


@tool(
    name="dur_apply_long",
    effect="write",
    idempotent=True,
    ann=Ann(timeout_s=120.0, max_attempts=50, retry_interval_s=0.1, backoff_rate=1.0),
)
def dur_apply_long(item: str, *, idempotency_key: str) -> str:
    """``dur_apply`` with a two-minute timeout: only heartbeats detect a dead worker quickly."""
    return dur_apply.definition.fn(item, idempotency_key=idempotency_key)  # type: ignore[no-any-return]


@tool(name="dur_write_once", effect="write", ann=Ann(timeout_s=TIMEOUT_S))
def dur_write_once(item: str, *, idempotency_key: str) -> str:
    """Not idempotent: every execution is a write (logged before the slow part)."""
    conn = _db()
    try:
        conn.execute("INSERT INTO writes VALUES (?, ?, ?, 0)", (idempotency_key, item, os.getpid()))
        time.sleep(APPLY_S)
        conn.execute("UPDATE writes SET done = 1 WHERE key = ? AND pid = ?", (idempotency_key, os.getpid()))
    finally:
        conn.close()
    return f"written:{item}"


LOOKUPS: list[str] = []
"""Queries ``dur_lookup`` ran in this process (in-process workers)."""


@tool(name="dur_lookup", effect="read", idempotent=True)
def dur_lookup(query: str) -> str:
    """A fast read for agents and sessions."""
    LOOKUPS.append(query)
    return f"found:{query}"


@pure("dur.tag")
def dur_tag(text: str) -> str:
    return f"<{text}>"


@pure("dur.turn")
def dur_turn(view: dict[str, Any]) -> list[Any]:
    """A chat turn: the carrier counts turns and keeps the history."""
    carrier = view["carrier"] or {"n": 0, "history": []}
    msg = view["msg"]
    if msg == "boom":
        raise ValueError("the turn failed on purpose")
    nxt = {"n": carrier["n"] + 1, "history": [*carrier["history"], msg]}
    return [nxt, f"#{nxt['n']}: {msg}"]


@pure("dur.pair")
def dur_pair(out: str) -> list[Any]:
    return [out, out]


# flows
APPLY_TWICE = seq(dur_apply, arr("dur.tag"), dur_apply)
APPLY_LONG = seq(dur_apply_long, arr("dur.tag"))
WRITE_ONCE = seq(dur_write_once, arr("dur.tag"))
GATED = seq(arr("dur.tag"), human_gate("ship it?", timeout_s=3600), arr("dur.tag"))
CHAT = scan(arr("dur.turn"), init={"n": 0, "history": []})
SLOW_CHAT = scan(seq(arr("ca.session.msg"), dur_apply, arr("dur.pair")), init=None)
