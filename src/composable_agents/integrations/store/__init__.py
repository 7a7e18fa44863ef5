"""The trace store: runs and their projections in SQLite or PostgreSQL, fed locally or from Temporal.

``TraceStore.open(url)`` opens (creating or migrating) a store;
``put_run(result)`` stores a run's redacted projection idempotently;
``runs(...)`` lists and ``get_run(run_id)`` reads one back with every event's
times, input and output. ``ingest``/``follow`` feed durable runs from
Temporal out of band (SPEC §20).

Rejected alternative: storing runs in Temporal's own history and reading
them from there. Histories expire with the namespace retention, are shaped
for replay rather than for listing, and local runs have none.
"""

from composable_agents.integrations.store._ingest import RunSink, follow, ingest
from composable_agents.integrations.store._store import (
    DEFAULT_STORE_URL,
    RunSummary,
    StoreError,
    TraceStore,
)

__all__ = ["DEFAULT_STORE_URL", "RunSink", "RunSummary", "StoreError", "TraceStore", "follow", "ingest"]
