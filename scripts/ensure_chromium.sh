#!/usr/bin/env bash
# Make a headless Chromium available for the picture tests (tests/integrations/render).
# Installs Debian's `chromium` only when it is missing and we run as root; otherwise it
# says why and exits 0, so the tests that need it skip with that reason.
set -u
for bin in chromium chromium-browser google-chrome; do
    if command -v "$bin" >/dev/null 2>&1; then
        echo "ensure_chromium: found $(command -v "$bin")"
        exit 0
    fi
done
if [ "$(id -u)" != "0" ]; then
    echo "ensure_chromium: chromium is missing and we are not root; the render tests will skip" >&2
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_chromium: chromium is missing and there is no apt-get; the render tests will skip" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if apt-get install -y --no-install-recommends chromium >/tmp/ensure_chromium.log 2>&1 \
    || { apt-get update >>/tmp/ensure_chromium.log 2>&1 \
         && apt-get install -y --no-install-recommends chromium >>/tmp/ensure_chromium.log 2>&1; }; then
    echo "ensure_chromium: installed $(command -v chromium)"
else
    echo "ensure_chromium: installing chromium failed (see /tmp/ensure_chromium.log); the render tests will skip" >&2
fi
exit 0
