"""TraceStore on SQLite and on a real PostgreSQL: migrations, idempotent put_run, listing, get_run, redaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from composable_agents import arr, deploy, pure, tool
from composable_agents.core.secrets import REDACTED
from composable_agents.integrations.store import StoreError, TraceStore
from composable_agents.integrations.store._sql import SCHEMA_VERSION

SECRET = "sk-proj-Zq8xW3vN5mK1pL7rT2yB9cD4"


@tool(effect="read", idempotent=True)
def store_fetch(q: str) -> dict[str, Any]:
    # A tool whose output carries a token under an innocent key and inside a list.
    return {"q": q, "note": SECRET, "items": [1, {"auth": f"Bearer {SECRET}"}]}


@pure("store.count")
def store_count(doc: dict[str, Any]) -> int:
    return len(doc["items"])


@pure("store.fail")
def store_fail(n: int) -> int:
    raise RuntimeError("the count was wrong")


OK_FLOW = deploy((store_fetch >> arr("store.count")).named("store.ok"), tools=[store_fetch])
BAD_FLOW = deploy((store_fetch >> arr("store.count") >> arr("store.fail")).named("store.bad"), tools=[store_fetch])


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TraceStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/traces.db"  # sqlite:////abs/path
    else:
        url = request.getfixturevalue("fresh_pg_url")
    opened = TraceStore.open(url)
    try:
        yield opened
    finally:
        opened.close()


def test_put_run_is_idempotent_and_get_run_returns_times_and_values(store: TraceStore) -> None:
    result = OK_FLOW.dry_run("refund", run_id="st-ok-1")
    assert result.ok
    store.put_run(result, flow="store.ok")
    store.put_run(result, flow="store.ok")  # again: nothing duplicated
    listed = store.runs()
    assert [r.run_id for r in listed] == ["st-ok-1"]
    assert listed[0].events == len(result.projection.events)
    got = store.get_run("st-ok-1")
    assert got is not None
    assert got.flow == "store.ok" and got.status == "ok"
    assert [e["activation"] for e in got.events] == [e["activation"] for e in result.projection.events]
    comparable = result.projection.comparable()
    for event in got.events:
        assert "startedAt" in event and "endedAt" in event
        assert event["startedAt"] <= event["endedAt"]
        original = comparable[event["activation"]]
        assert event["op"] == original["op"]
        if event["activation"] == "$.1":
            assert event["input"]["q"] == "refund" and event["output"] == 2
    assert store.get_run("no-such-run") is None


def test_stored_values_are_redacted_whatever_key_holds_them(store: TraceStore) -> None:
    result = OK_FLOW.dry_run("refund", run_id="st-secret")
    store.put_run(result)
    got = store.get_run("st-secret")
    assert got is not None
    text = repr(got.to_json())
    assert SECRET not in text
    tool_event = got.by_activation()["$.0"]
    assert tool_event["output"]["note"] == REDACTED
    assert REDACTED in tool_event["output"]["items"][1]["auth"]
    assert tool_event["output"]["q"] == "refund"  # ordinary values stay


def test_failed_runs_filters_and_since(store: TraceStore) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    for i in range(3):
        store.put_run(OK_FLOW.dry_run(f"q{i}", run_id=f"st-many-{i}"), flow="store.ok")
    bad = BAD_FLOW.dry_run("q", run_id="st-bad")
    assert bad.status == "failed"
    store.put_run(bad, flow="store.bad")
    assert {r.run_id for r in store.runs(flow="store.ok")} == {"st-many-0", "st-many-1", "st-many-2"}
    assert [r.run_id for r in store.runs(status="failed")] == ["st-bad"]
    assert len(store.runs(limit=2)) == 2
    assert len(store.runs(since=before)) == 4
    assert store.runs(since=datetime.now(UTC) + timedelta(hours=1)) == []
    got = store.get_run("st-bad")
    assert got is not None and got.status == "failed"
    assert got.detail is not None and "the count was wrong" in str(got.detail)
    failed = [e for e in got.events if e.get("error")]
    assert failed, "the failing step has its event"
    leaf = got.by_activation()["$.2"]
    assert leaf["error"]["type"] == "RuntimeError"
    assert leaf["error"]["message"] == "the count was wrong"


def test_bad_arguments_are_typed_errors(store: TraceStore) -> None:
    with pytest.raises(StoreError, match="since"):
        store.runs(since="yesterday")  # type: ignore[arg-type]
    with pytest.raises(StoreError, match="limit"):
        store.runs(limit=0)


def test_migrations_run_once_and_reopen_keeps_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    first = TraceStore.open()  # the default: sqlite:///.ca/traces.db, relative to the working directory
    assert first.version == SCHEMA_VERSION
    first.put_run(OK_FLOW.dry_run("x", run_id="st-reopen"))
    first.close()
    assert (tmp_path / ".ca" / "traces.db").exists()
    again = TraceStore.open("sqlite:///.ca/traces.db")
    assert again.version == SCHEMA_VERSION
    assert [r.run_id for r in again.runs()] == ["st-reopen"]
    again.close()
    with sqlite3.connect(tmp_path / ".ca" / "traces.db") as conn:
        versions = [row[0] for row in conn.execute("SELECT version FROM ca_schema")]
    assert versions == list(range(1, SCHEMA_VERSION + 1))


def test_postgres_migrations_are_idempotent(fresh_pg_url: str) -> None:
    for _ in range(2):
        with TraceStore.open(fresh_pg_url) as opened:
            assert opened.version == SCHEMA_VERSION
            assert opened.dialect == "postgresql"


def test_bad_urls() -> None:
    with pytest.raises(StoreError, match="scheme"):
        TraceStore.open("mysql://localhost/db")
    with pytest.raises(StoreError, match="no host"):
        TraceStore.open("sqlite://somehost/x.db")
    with pytest.raises(StoreError) as info:
        TraceStore.open("postgresql://u:hunter2pass@127.0.0.1:1/db?connect_timeout=1")
    assert "hunter2pass" not in str(info.value)


def test_put_runs_batches_many(tmp_path: Path) -> None:
    with TraceStore.open(f"sqlite:///{tmp_path}/bulk.db") as opened:
        results = [OK_FLOW.dry_run(f"q{i}", run_id=f"bulk-{i}") for i in range(30)]
        assert opened.put_runs(results, flow="store.ok") == 30
        assert opened.put_runs(results, flow="store.ok") == 30  # idempotent
        assert len(opened.runs(limit=100)) == 30


def test_a_stored_record_reads_as_a_mapping_too(tmp_path: Path) -> None:
    with TraceStore.open(f"sqlite:///{tmp_path}/m.db") as opened:
        opened.put_run(OK_FLOW.dry_run("x y", run_id="st-map"), flow="store.ok")
        got = opened.get_run("st-map")
    assert got is not None
    assert got["runId"] == "st-map" and got["status"] == "ok" and got["events"] == list(got.events)
    with pytest.raises(KeyError, match="no field"):
        got["nope"]
