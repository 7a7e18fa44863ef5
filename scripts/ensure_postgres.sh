#!/usr/bin/env bash
# Make PostgreSQL's server binaries available for the trace-store tests (tests/integrations/store).
# Installs Debian's `postgresql` only when no /usr/lib/postgresql/*/bin/pg_ctl exists and we are root
# with apt-get; otherwise it says why and exits 0, and the PostgreSQL tests skip with that reason.
set -u
if ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
    echo "ensure_postgres: found $(ls /usr/lib/postgresql/*/bin/pg_ctl | tail -1)"
    exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_postgres: PostgreSQL is missing and cannot be installed here (not root, or no apt-get); its tests will skip" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if apt-get install -y --no-install-recommends postgresql >/tmp/ensure_postgres.log 2>&1 \
    || { apt-get update >>/tmp/ensure_postgres.log 2>&1 \
         && apt-get install -y --no-install-recommends postgresql >>/tmp/ensure_postgres.log 2>&1; }; then
    echo "ensure_postgres: installed $(ls /usr/lib/postgresql/*/bin/pg_ctl 2>/dev/null | tail -1)"
else
    echo "ensure_postgres: installing postgresql failed (see /tmp/ensure_postgres.log); its tests will skip" >&2
fi
exit 0
