"""A local HTTP server speaking the Anthropic Messages API and the OpenAI Chat Completions API.

Tests point the real SDK clients at it (``base_url``) instead of patching the
SDKs. Each API has a script: a queue of replies (:func:`anthropic_text`,
:func:`openai_tool`, :func:`error`, ...) served in order; once a queue is empty
the optional ``responder(api, body)`` answers, else an unscripted request gets
a 500 naming itself. Every request is recorded (``server.requests``) with its
path, headers and JSON body.

Run as a script (``python llm_server.py``) it serves a fixed reply to every
request and prints ``PORT <n>`` once listening — the benchmark uses that
mode, out of process, so the server's threads do not share the client's GIL.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = [
    "LLMServer",
    "Recorded",
    "Response",
    "anthropic_text",
    "anthropic_tool",
    "error",
    "openai_json",
    "openai_text",
    "openai_tool",
]

ANTHROPIC = "anthropic"
OPENAI = "openai"


@dataclass(frozen=True)
class Response:
    """One scripted answer: status, JSON body, extra headers."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Recorded:
    """One request the server received."""

    api: str
    path: str
    headers: dict[str, str]
    body: Any
    at: float = 0.0
    """``time.monotonic()`` when it arrived."""


def _anthropic_usage(input_tokens: int, output_tokens: int, cache_read: int, cache_write: int) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_read_input_tokens": cache_read,
        "cache_creation_input_tokens": cache_write,
    }


def anthropic_text(
    text: str,
    *,
    input_tokens: int = 10,
    output_tokens: int = 5,
    cache_read: int = 0,
    cache_write: int = 0,
    stop: str = "end_turn",
    model: str = "claude-haiku-4-5",
) -> Response:
    """A Messages API reply holding ``text``."""
    return Response(
        200,
        {
            "id": "msg_test",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": text}],
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": _anthropic_usage(input_tokens, output_tokens, cache_read, cache_write),
        },
    )


def anthropic_tool(
    *calls: tuple[str, Any],
    text: str = "",
    input_tokens: int = 10,
    output_tokens: int = 5,
    cache_read: int = 0,
    cache_write: int = 0,
    stop: str = "tool_use",
    model: str = "claude-haiku-4-5",
) -> Response:
    """A Messages API reply with one ``tool_use`` block per ``(name, input)``."""
    content: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
    content += [{"type": "tool_use", "id": f"toolu_{i}", "name": name, "input": args} for i, (name, args) in enumerate(calls)]
    return Response(
        200,
        {
            "id": "msg_test",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": _anthropic_usage(input_tokens, output_tokens, cache_read, cache_write),
        },
    )


def _completion(message: dict[str, Any], finish: str, prompt: int, completion: int, cached: int, model: str) -> Response:
    return Response(
        200,
        {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
                "prompt_tokens_details": {"cached_tokens": cached},
            },
        },
    )


def openai_text(
    text: str,
    *,
    prompt_tokens: int = 10,
    completion_tokens: int = 5,
    cached_tokens: int = 0,
    finish: str = "stop",
    refusal: str | None = None,
    model: str = "gpt-4o-mini",
) -> Response:
    """A Chat Completions reply holding ``text`` (or a ``refusal``)."""
    message = {"role": "assistant", "content": None if refusal else text, "refusal": refusal}
    return _completion(message, finish, prompt_tokens, completion_tokens, cached_tokens, model)


def openai_json(value: Any, **kw: Any) -> Response:
    """A Chat Completions reply whose content is ``value`` as JSON text (a ``response_format`` answer)."""
    return openai_text(json.dumps(value), **kw)


def openai_tool(
    *calls: tuple[str, Any],
    prompt_tokens: int = 10,
    completion_tokens: int = 5,
    cached_tokens: int = 0,
    model: str = "gpt-4o-mini",
) -> Response:
    """A Chat Completions reply with one function ``tool_call`` per ``(name, arguments)``."""
    message = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": f"call_{i}", "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
            for i, (name, args) in enumerate(calls)
        ],
    }
    return _completion(message, "tool_calls", prompt_tokens, completion_tokens, cached_tokens, model)


def error(api: str, status: int, etype: str, message: str, *, retry_after: float | None = None) -> Response:
    """An error reply in ``api``'s body format (with ``retry-after`` when given)."""
    if api == ANTHROPIC:
        body: Any = {"type": "error", "error": {"type": etype, "message": message}}
    else:
        body = {"error": {"message": message, "type": etype, "param": None, "code": etype}}
    headers = {"retry-after": str(retry_after)} if retry_after is not None else {}
    return Response(status, body, headers)


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # the stdlib's 5 resets connections when 32 clients connect at once

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out and hung up (the timeout tests) is expected, not a server fault.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class LLMServer:
    """The server: ``start()`` on a free 127.0.0.1 port, ``stop()`` in ``finally``."""

    def __init__(self, responder: Callable[[str, Any], Response] | None = None) -> None:
        self.scripts: dict[str, deque[Response]] = {ANTHROPIC: deque(), OPENAI: deque()}
        self.requests: list[Recorded] = []
        self.responder = responder
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- scripting -------------------------------------------------------------------

    def script(self, api: str, *responses: Response) -> None:
        """Queue ``responses`` for ``api`` (``"anthropic"`` or ``"openai"``)."""
        with self._lock:
            self.scripts[api].extend(responses)

    def bodies(self, api: str) -> list[Any]:
        """The JSON bodies ``api`` received, in order."""
        with self._lock:
            return [r.body for r in self.requests if r.api == api]

    def reset(self) -> None:
        """Forget scripts and recorded requests (between tests sharing one server)."""
        with self._lock:
            for queue in self.scripts.values():
                queue.clear()
            self.requests.clear()
        self.responder = None

    def _answer(self, api: str, path: str, headers: dict[str, str], body: Any) -> Response:
        with self._lock:
            self.requests.append(Recorded(api, path, headers, body, time.monotonic()))
            queue = self.scripts[api]
            if queue:
                return queue.popleft()
        if self.responder is not None:
            return self.responder(api, body)
        return error(api, 500, "unscripted", f"no scripted reply for {api} request {len(self.requests)}")

    # -- addresses ---------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The listening port."""
        assert self._httpd is not None, "the server is not started"
        return int(self._httpd.server_address[1])

    @property
    def anthropic_url(self) -> str:
        """``base_url`` for the Anthropic SDK."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_url(self) -> str:
        """``base_url`` for the OpenAI SDK."""
        return f"http://127.0.0.1:{self.port}/v1"

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> LLMServer:
        """Listen on a free port in a daemon thread; returns once the socket is bound."""
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: the SDK clients reuse connections
            disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms delayed-ACK stall

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                path = self.path.split("?", 1)[0]
                if path.endswith("/messages"):
                    api = ANTHROPIC
                elif path.endswith("/chat/completions"):
                    api = OPENAI
                else:
                    self._send(Response(404, {"error": {"type": "not_found", "message": path}}))
                    return
                self._send(server._answer(api, path, {k.lower(): v for k, v in self.headers.items()}, body))

            def _send(self, response: Response) -> None:
                data = json.dumps(response.body).encode()
                self.send_response(response.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for key, value in response.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        self._httpd = _Server(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="llm-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


def fixed_responder(api: str, body: Any) -> Response:
    """The script mode's answer to everything: a short text reply."""
    return anthropic_text("ok") if api == ANTHROPIC else openai_text("ok")


if __name__ == "__main__":
    srv = LLMServer(responder=fixed_responder).start()
    print(f"PORT {srv.port}", flush=True)
    try:
        sys.stdin.read()  # serve until the parent closes our stdin (or kills us by PID)
    finally:
        srv.stop()
