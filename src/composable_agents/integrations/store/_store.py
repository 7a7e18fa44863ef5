"""``TraceStore``: runs and their events in SQLite (embedded, the default) or PostgreSQL.

One row per run (status, flow, times, cost) and one per activation (its
redacted event JSON with input and output values inlined). Writes are
batches inside one transaction with ``ON CONFLICT DO NOTHING`` on the
natural keys, so putting a run twice — a retried ingest, two followers —
stores it once. SQLite runs in WAL mode with ``synchronous=NORMAL``: a crash
may lose the last commits, never corrupt the file, which is the right
trade for a derived explanation (SPEC §9: nothing depends on it).

Rejected alternative: one JSON blob per run. Listing and filtering would
parse every blob, and idempotency per activation (SPEC §20) needs the
activation as a key.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Self
from urllib.parse import unquote, urlsplit

from composable_agents.errors import ComposableAgentsError
from composable_agents.integrations.runs import RunRecord, _bounds, run_record
from composable_agents.integrations.store import _sql
from composable_agents.integrations.store._sql import Dialect

__all__ = ["DEFAULT_STORE_URL", "RunSummary", "StoreError", "TraceStore"]

DEFAULT_STORE_URL: Final = "sqlite:///.ca/traces.db"
"""The project's default store: an SQLite file under ``.ca/`` in the working directory."""

_BATCH_RUNS: Final = 500
_ENCODE: Final = json.JSONEncoder(separators=(",", ":"), default=str).encode
"""One encoder for every row: ``json.dumps`` with options builds a new encoder per call."""


class StoreError(ComposableAgentsError, ValueError):
    """A store URL that cannot be opened, or a missing driver (names the extra)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSummary:
    """One stored run as :meth:`TraceStore.runs` lists it."""

    run_id: str
    flow: str | None
    status: str
    started: datetime
    """When the run started (UTC): its first event on an epoch clock, else when it was stored."""
    duration_ms: float
    cost: float
    events: int


def _sqlite_path(url: str) -> str:
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        msg = f"an SQLite URL has no host: use sqlite:///relative/path or sqlite:////absolute/path (got {url!r})"
        raise StoreError(msg)
    path = unquote(parts.path)
    if path in ("", "/", "/:memory:"):
        return ":memory:"
    # sqlite:///rel -> path "/rel" (relative); sqlite:////abs -> path "//abs" (absolute)
    return path[1:]


class TraceStore:
    """A trace store; open one with :meth:`open` (``sqlite:///...`` or ``postgresql://...``)."""

    def __init__(self, conn: Any, dialect: Dialect, url: str) -> None:
        self._conn = conn
        self.dialect: Dialect = dialect
        self.url = url
        self._lock = threading.Lock()
        self._sql = {
            name: _sql.for_dialect(getattr(_sql, name), dialect)
            for name in ("INSERT_RUN", "INSERT_EVENT", "SELECT_RUN", "SELECT_EVENTS", "SELECT_VERSION", "INSERT_VERSION")
        }
        self._migrate()

    # -- opening ---------------------------------------------------------------------

    @classmethod
    def open(cls, url: str | os.PathLike[str] = DEFAULT_STORE_URL) -> TraceStore:
        """Open (creating or migrating) the store at ``url``.

        ``sqlite:///relative/path`` (relative to the working directory),
        ``sqlite:////absolute/path``, ``sqlite://`` (in memory), or
        ``postgresql://user@host:port/db`` (psycopg 3, extra ``postgres``). A
        plain path is taken as an SQLite file.
        """
        text = os.fspath(url)
        if "://" not in text:
            text = f"sqlite:///{text}"  # "/abs" gives sqlite:////abs, "rel" sqlite:///rel
        scheme = text.split("://", 1)[0].lower()
        if scheme == "sqlite":
            path = _sqlite_path(text)
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            if path != ":memory:":
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=5000")
            return cls(conn, "sqlite", text)
        if scheme in ("postgresql", "postgres"):
            try:
                import psycopg
            except ImportError as exc:  # pragma: no cover - the dev extra installs it
                msg = "a PostgreSQL trace store needs psycopg 3: pip install 'composable-agents[postgres]'"
                raise StoreError(msg) from exc
            try:
                pg = psycopg.connect(text, autocommit=True)
            except psycopg.Error as exc:
                msg = f"cannot connect to the trace store {_safe(text)}: {exc}"
                raise StoreError(msg) from exc
            return cls(pg, "postgresql", text)
        msg = f"unknown trace store URL scheme {scheme!r} in {_safe(text)}: use sqlite:///path or postgresql://..."
        raise StoreError(msg)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<TraceStore {_safe(self.url)}>"

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        with self._lock:
            if self.dialect == "sqlite":
                cur = self._conn.cursor()
                cur.execute("BEGIN")
                try:
                    yield cur
                except BaseException:
                    cur.execute("ROLLBACK")
                    raise
                cur.execute("COMMIT")
            else:
                with self._conn.transaction(), self._conn.cursor() as cur:
                    yield cur

    def _migrate(self) -> None:
        with self._tx() as cur:
            cur.execute(_sql.for_dialect(_sql.CREATE_SCHEMA_TABLE, self.dialect))
            cur.execute(self._sql["SELECT_VERSION"])
            current = int(cur.fetchone()[0])
            for number, statements in _sql.migrations(self.dialect):
                if number <= current:
                    continue
                for statement in statements:
                    cur.execute(statement)
                cur.execute(self._sql["INSERT_VERSION"], (number, time.time() * 1000))

    @property
    def version(self) -> int:
        """The schema version of the open store."""
        with self._tx() as cur:
            cur.execute(self._sql["SELECT_VERSION"])
            return int(cur.fetchone()[0])

    # -- writing ---------------------------------------------------------------------

    def put_run(self, result: Any, *, flow: str | None = None, run_id: str | None = None) -> RunRecord:
        """Store one run (a ``Result``, a ``Projection`` or a ``RunRecord``), redacted; returns its record.

        Idempotent by run id and activation: storing a run again adds only
        activations not stored yet. The run id is the result's (give local
        runs their own: ``dry_run(x, run_id=...)``) unless ``run_id`` is set.
        """
        record = run_record(result, flow=flow, run_id=run_id)
        self._write([record])
        return record

    def put_runs(self, results: Iterable[Any], *, flow: str | None = None) -> int:
        """Store many runs in batched transactions (what bulk ingest uses); returns how many."""
        batch: list[RunRecord] = []
        count = 0
        for result in results:
            batch.append(run_record(result, flow=flow))
            if len(batch) >= _BATCH_RUNS:
                self._write(batch)
                count += len(batch)
                batch = []
        if batch:
            self._write(batch)
            count += len(batch)
        return count

    def _write(self, records: Sequence[RunRecord]) -> None:
        now = time.time() * 1000
        runs: list[tuple[Any, ...]] = []
        events: list[tuple[Any, ...]] = []
        dumps = json.dumps
        encode = _ENCODE
        for record in records:
            start, end = record.started_at, record.ended_at
            if record.epoch_times:
                clock, started, ended = "epoch", float(start or now), float(end or now)
            else:
                # A virtual clock: anchor the run at the moment it is stored.
                clock, started, ended = "virtual", now, now + record.duration_ms
            runs.append(
                (
                    record.run_id, record.flow, record.status, started, ended, clock, now, record.cost,
                    len(record.events), record.dropped,
                    dumps(record.detail) if record.detail is not None else None,
                    dumps(record.usage) if record.usage is not None else None,
                )
            )
            rid = record.run_id
            for seq, e in enumerate(record.events):
                parent = e.get("parent")
                events.append(
                    (
                        rid, e["activation"], seq, parent, e.get("op", ""), e.get("label", ""),
                        e.get("startedAt"), e.get("endedAt"), float(e.get("cost") or 0.0),
                        1 if e.get("error") else 0, encode(e),
                    )
                )
        with self._tx() as cur:
            if self.dialect == "postgresql":
                for statement in _sql.PG_STAGE:
                    cur.execute(statement)
                with cur.copy(_sql.PG_COPY_RUNS) as copy:
                    for row in runs:
                        copy.write_row(row)
                with cur.copy(_sql.PG_COPY_EVENTS) as copy:
                    for row in events:
                        copy.write_row(row)
                for statement in _sql.PG_MERGE:
                    cur.execute(statement)
                return
            cur.executemany(self._sql["INSERT_RUN"], runs)
            if events:
                cur.executemany(self._sql["INSERT_EVENT"], events)

    # -- reading ---------------------------------------------------------------------

    def runs(
        self,
        *,
        flow: str | None = None,
        status: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
    ) -> list[RunSummary]:
        """Stored runs, newest first, filtered by flow name, status and start time (``since``, a datetime)."""
        given: Any = since  # checked at run time: callers are not always type-checked
        if given is not None and not isinstance(given, datetime):
            msg = f"`since` must be a datetime (got {type(given).__name__}: {given!r})"
            raise StoreError(msg)
        count: Any = limit
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            msg = f"`limit` must be a positive integer (got {limit!r})"
            raise StoreError(msg)
        params: list[Any] = []
        if flow is not None:
            params.append(flow)
        if status is not None:
            params.append(status)
        if since is not None:
            params.append(since.timestamp() * 1000)
        params.append(limit)
        sql = _sql.for_dialect(_sql.runs_query(flow=flow is not None, status=status is not None, since=since is not None), self.dialect)
        with self._tx() as cur:
            cur.execute(sql, params)
            rows = cur.fetchall()
        return [
            RunSummary(
                run_id=r[0], flow=r[1], status=r[2],
                started=datetime.fromtimestamp(float(r[3]) / 1000, tz=UTC),
                duration_ms=float(r[4]) - float(r[3]), cost=float(r[7]), events=int(r[8]),
            )
            for r in rows
        ]

    def get_run(self, run_id: str) -> RunRecord | None:
        """The stored run ``run_id``: its projection with every event's times, input and output values (``None`` if unknown)."""
        with self._tx() as cur:
            cur.execute(self._sql["SELECT_RUN"], (run_id,))
            row = cur.fetchone()
            if row is None:
                return None
            cur.execute(self._sql["SELECT_EVENTS"], (run_id,))
            bodies = cur.fetchall()
        events = tuple(json.loads(b[0]) for b in bodies)
        started_at, ended_at = _bounds(events)
        return RunRecord(
            run_id=row[0], flow=row[1], status=row[2], events=events,
            detail=json.loads(row[10]) if row[10] else None, cost=float(row[7]),
            started_at=started_at, ended_at=ended_at,
            dropped=int(row[9]), usage=json.loads(row[11]) if row[11] else None,
        )


def _safe(url: str) -> str:
    """``url`` without its password (error messages and reprs never show credentials)."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url
