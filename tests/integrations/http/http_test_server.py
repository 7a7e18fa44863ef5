"""A stdlib HTTP server for the ``http_tool`` tests: ``python http_test_server.py PORT LOGFILE``.

Every request appends ``{"path", "method", "query", "body", "headers", "t"}`` to LOGFILE (JSON lines)
before answering, so tests count attempts and read the headers each carried. Routes:

* ``/weather`` (POST): ``{"city": c, "temp": 21}``.
* ``/search`` (GET): ``{"q": <q>, "hits": [...]}`` from the query string.
* ``/flaky`` (POST): 503 with ``Retry-After: 7`` on the first request with an Idempotency-Key, then 200.
* ``/limited`` (POST): 429 with ``Retry-After: 1`` on the first request with a key, then 200.
* ``/bad`` (POST): 400.  ``/wrong`` (POST): a body that does not match the output type.
* ``/down`` (POST): always 503 (a write that must not be repeated).
* ``/slow`` (POST): answers after ``{"delay": s}`` seconds.

A separate process, not a thread in the test, so the tests see a real socket and a real peer.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

LOCK = threading.Lock()
LOG_PATH = ""


def _log(entry: dict[str, Any]) -> list[dict[str, Any]]:
    with LOCK:
        with open(LOG_PATH, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry) + "\n")
        with open(LOG_PATH, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]


class Handler(BaseHTTPRequestHandler):
    """Answers the routes in the module docstring."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        url = urlparse(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        key = self.headers.get("Idempotency-Key")
        seen = _log(
            {
                "path": url.path,
                "method": self.command,
                "query": query,
                "body": body,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "t": time.time(),
            }
        )
        same = [e for e in seen if e["path"] == url.path and e["headers"].get("idempotency-key") == key]
        if url.path == "/weather":
            self._send(200, {"city": (body or {}).get("city"), "temp": 21})
        elif url.path == "/search":
            q = query.get("q", "")
            self._send(200, {"q": q, "hits": [f"{q}-1", f"{q}-2"]})
        elif url.path == "/flaky":
            if len(same) == 1:
                self._send(503, {"error": "warming up"}, {"Retry-After": "7"})
            else:
                self._send(200, {"city": (body or {}).get("city"), "temp": 19})
        elif url.path == "/limited":
            if len(same) == 1:
                self._send(429, {"error": "slow down"}, {"Retry-After": "1"})
            else:
                self._send(200, {"city": (body or {}).get("city"), "temp": 18})
        elif url.path == "/bad":
            self._send(400, {"error": "no such city"})
        elif url.path == "/wrong":
            self._send(200, {"city": 5, "temp": "hot"})
        elif url.path == "/down":
            self._send(503, {"error": "down"})
        elif url.path == "/slow":
            time.sleep(float((body or {}).get("delay", 0)))
            self._send(200, {"city": "slow", "temp": 0})
        else:
            self._send(404, {"error": "not found"})

    do_GET = _handle
    do_POST = _handle
    do_PUT = _handle
    do_DELETE = _handle


def main(argv: list[str]) -> None:
    """Serve on 127.0.0.1:PORT until terminated."""
    global LOG_PATH
    LOG_PATH = argv[2]
    httpd = ThreadingHTTPServer(("127.0.0.1", int(argv[1])), Handler)
    httpd.daemon_threads = True
    httpd.serve_forever()


if __name__ == "__main__":
    main(sys.argv)
