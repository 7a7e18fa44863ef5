"""Every SQL statement of the trace store, for SQLite and PostgreSQL, in one place.

Statements are written once with ``?`` placeholders and converted for
psycopg (``%s``) by :func:`for_dialect`; the few dialect differences (column
types, upsert of the schema version) are spelled out per dialect.
Migrations are numbered; each is idempotent (``IF NOT EXISTS``) and
recorded in ``ca_schema``, so opening a store of any older version brings it
up to date and opening a current one changes nothing.

Rejected alternative: an ORM or a migration framework. Two tables and a
handful of statements do not pay for a dependency, and a reader sees the
exact SQL the store runs.
"""

from __future__ import annotations

from typing import Final, Literal

__all__ = [
    "CREATE_SCHEMA_TABLE",
    "INSERT_EVENT",
    "INSERT_RUN",
    "INSERT_VERSION",
    "PG_COPY_EVENTS",
    "PG_COPY_RUNS",
    "PG_MERGE",
    "PG_STAGE",
    "SCHEMA_VERSION",
    "SELECT_EVENTS",
    "SELECT_RUN",
    "SELECT_VERSION",
    "Dialect",
    "for_dialect",
    "migrations",
    "runs_query",
]

Dialect = Literal["sqlite", "postgresql"]

_TYPES: Final = {
    # SQLite: events are clustered on their natural key (one B-tree, not a rowid table plus an index).
    "sqlite": {"REAL": "REAL", "BIGINT": "INTEGER", "CLUSTERED": " WITHOUT ROWID"},
    "postgresql": {"REAL": "DOUBLE PRECISION", "BIGINT": "BIGINT", "CLUSTERED": ""},
}

_MIGRATIONS_TEMPLATE: Final[tuple[tuple[int, tuple[str, ...]], ...]] = (
    (
        1,
        (
            """CREATE TABLE IF NOT EXISTS ca_runs (
                run_id TEXT PRIMARY KEY,
                flow TEXT,
                status TEXT NOT NULL,
                started_ms {REAL} NOT NULL,
                ended_ms {REAL} NOT NULL,
                clock TEXT NOT NULL,
                recorded_ms {REAL} NOT NULL,
                cost {REAL} NOT NULL,
                events {BIGINT} NOT NULL,
                dropped {BIGINT} NOT NULL,
                detail TEXT,
                usage TEXT
            )""",
            """CREATE TABLE IF NOT EXISTS ca_events (
                run_id TEXT NOT NULL,
                activation TEXT NOT NULL,
                seq {BIGINT} NOT NULL,
                parent TEXT,
                op TEXT NOT NULL,
                label TEXT NOT NULL,
                started_ms {REAL},
                ended_ms {REAL},
                cost {REAL} NOT NULL,
                failed {BIGINT} NOT NULL,
                body TEXT NOT NULL,
                PRIMARY KEY (run_id, activation)
            ){CLUSTERED}""",
            "CREATE INDEX IF NOT EXISTS ca_runs_started ON ca_runs (started_ms)",
            "CREATE INDEX IF NOT EXISTS ca_runs_flow ON ca_runs (flow, started_ms)",
            "CREATE INDEX IF NOT EXISTS ca_runs_status ON ca_runs (status, started_ms)",
        ),
    ),
)

SCHEMA_VERSION: Final = _MIGRATIONS_TEMPLATE[-1][0]
"""The schema version a freshly opened store has."""

CREATE_SCHEMA_TABLE: Final = "CREATE TABLE IF NOT EXISTS ca_schema (version INTEGER PRIMARY KEY, applied_ms {REAL} NOT NULL)"
SELECT_VERSION: Final = "SELECT COALESCE(MAX(version), 0) FROM ca_schema"
INSERT_VERSION: Final = "INSERT INTO ca_schema (version, applied_ms) VALUES (?, ?) ON CONFLICT (version) DO NOTHING"

INSERT_RUN: Final = (
    "INSERT INTO ca_runs (run_id, flow, status, started_ms, ended_ms, clock, recorded_ms, cost, events, dropped, detail, usage) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id) DO NOTHING"
)
INSERT_EVENT: Final = (
    "INSERT INTO ca_events (run_id, activation, seq, parent, op, label, started_ms, ended_ms, cost, failed, body) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, activation) DO NOTHING"
)
# PostgreSQL bulk path: COPY into per-session staging tables, then one INSERT ... SELECT with the
# same ON CONFLICT DO NOTHING (COPY itself cannot skip conflicting rows).
PG_STAGE: Final = (
    "CREATE TEMP TABLE IF NOT EXISTS ca_runs_stage (LIKE ca_runs) ON COMMIT DELETE ROWS",
    "CREATE TEMP TABLE IF NOT EXISTS ca_events_stage (LIKE ca_events) ON COMMIT DELETE ROWS",
)
PG_COPY_RUNS: Final = (
    "COPY ca_runs_stage (run_id, flow, status, started_ms, ended_ms, clock, recorded_ms, cost, events, dropped, detail, usage) "
    "FROM STDIN"
)
PG_COPY_EVENTS: Final = (
    "COPY ca_events_stage (run_id, activation, seq, parent, op, label, started_ms, ended_ms, cost, failed, body) FROM STDIN"
)
PG_MERGE: Final = (
    "INSERT INTO ca_runs SELECT DISTINCT ON (run_id) * FROM ca_runs_stage ON CONFLICT (run_id) DO NOTHING",
    ("INSERT INTO ca_events SELECT DISTINCT ON (run_id, activation) * FROM ca_events_stage "
    "ON CONFLICT (run_id, activation) DO NOTHING"),
)

SELECT_RUN: Final = (
    "SELECT run_id, flow, status, started_ms, ended_ms, clock, recorded_ms, cost, events, dropped, detail, usage "
    "FROM ca_runs WHERE run_id = ?"
)
SELECT_EVENTS: Final = "SELECT body FROM ca_events WHERE run_id = ? ORDER BY seq"

_RUN_COLUMNS: Final = "run_id, flow, status, started_ms, ended_ms, clock, recorded_ms, cost, events, dropped, detail, usage"


def runs_query(*, flow: bool, status: bool, since: bool) -> str:
    """The listing query with the filters that are set (newest first, ``LIMIT ?`` last)."""
    where = []
    if flow:
        where.append("flow = ?")
    if status:
        where.append("status = ?")
    if since:
        where.append("started_ms >= ?")
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    return f"SELECT {_RUN_COLUMNS} FROM ca_runs{clause} ORDER BY started_ms DESC, run_id LIMIT ?"


def for_dialect(sql: str, dialect: Dialect) -> str:
    """``sql`` with its type names and placeholders for ``dialect``."""
    out = sql.format(**_TYPES[dialect]) if "{" in sql else sql
    return out.replace("?", "%s") if dialect == "postgresql" else out


def migrations(dialect: Dialect) -> list[tuple[int, list[str]]]:
    """The numbered migrations, in order, for ``dialect``."""
    return [(n, [for_dialect(s, dialect) for s in stmts]) for n, stmts in _MIGRATIONS_TEMPLATE]

