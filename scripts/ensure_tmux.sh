#!/usr/bin/env bash
# Make tmux available for the terminal tests of `ca chat` / `ca run` (tests/cli/test_cli_chat.py).
# Installs Debian's `tmux` only when it is missing and we are root with apt-get; otherwise it says
# why and exits 0, and those tests skip with that reason.
set -u
if command -v tmux >/dev/null 2>&1; then
    echo "ensure_tmux: found $(command -v tmux)"
    exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_tmux: tmux is missing and cannot be installed here (not root, or no apt-get); the tmux tests will skip" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if apt-get install -y --no-install-recommends tmux >/tmp/ensure_tmux.log 2>&1 \
    || { apt-get update >>/tmp/ensure_tmux.log 2>&1 \
         && apt-get install -y --no-install-recommends tmux >>/tmp/ensure_tmux.log 2>&1; }; then
    echo "ensure_tmux: installed $(command -v tmux)"
else
    echo "ensure_tmux: installing tmux failed (see /tmp/ensure_tmux.log); the tmux tests will skip" >&2
fi
exit 0
