"""A scripted fake HTTP server on 127.0.0.1, so the real vendor SDKs can run in tests without a network.

The server answers every request, whatever its path or method, with the next
scripted :class:`Reply` and records what it got as a :class:`Recorded`. Point an
SDK's ``base_url`` at :attr:`LoopbackServer.url` (plus the vendor's path prefix,
e.g. ``server.url + "/v1"`` for OpenAI; Anthropic's SDK adds ``/v1/messages``
itself, so pass ``server.url``)::

    from loopback import LOOPBACK_HOSTS, LoopbackServer, Reply   # tests/providers is on sys.path under pytest

    pytestmark = pytest.mark.block_network(allowed_hosts=LOOPBACK_HOSTS)

    def test_retry(loopback: LoopbackServer) -> None:       # fixture from tests/providers/conftest.py
        loopback.script(
            Reply(429, {"error": {"message": "slow down"}}, headers={"Retry-After": "1"}),
            Reply(200, {"id": "x", ...}),
        )
        client = OpenAI(base_url=loopback.url + "/v1", api_key="test-key", max_retries=0)
        ...
        assert [r.path for r in loopback.requests] == ["/v1/chat/completions"] * 2
        assert loopback.requests[0].json["model"] == "gpt-4.1-mini"

or without the fixture: ``with LoopbackServer([Reply(...), ...]) as server: ...``.

The whole API:

- ``Reply(status=200, body=None, headers={}, delay=0.0)``: ``body`` is sent as
  JSON (``Content-Type: application/json``) unless it is ``str``/``bytes``, which
  go out as they are (set your own ``Content-Type`` header then); ``delay``
  sleeps that many seconds before answering (for client-timeout tests).
- ``LoopbackServer(replies=(), *, repeat_last=False)``: a context manager
  (``start()``/``stop()`` also work). ``script(*replies)`` appends replies;
  ``repeat_last=True`` answers with the last reply forever once the script runs
  out (e.g. "HTTP 500 forever"). When the script is spent and ``repeat_last`` is
  off, the server answers ``418`` with a JSON error saying so, a status that no
  retry policy retries, so a test that makes one call too many fails loudly.
- ``url``: ``http://127.0.0.1:PORT`` (a free port chosen by the OS, no trailing slash).
- ``requests``: every request so far, in arrival order, as ``Recorded(method,
  path, headers, body, json)``; ``headers`` has lower-cased names, ``path``
  keeps any query string, ``json`` is the parsed body or ``None``.

With ``pytest --block-network`` (pytest-recording) connections to 127.0.0.1 are
blocked too unless a test allows them: mark loopback tests with
``pytest.mark.block_network(allowed_hosts=LOOPBACK_HOSTS)``, which also blocks
every other host for those tests even without the flag.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

__all__ = ["LOOPBACK_HOSTS", "LoopbackServer", "Recorded", "Reply"]

#: Hosts to pass as ``allowed_hosts`` to pytest-recording's ``block_network`` mark.
LOOPBACK_HOSTS = ["127.0.0.1"]


@dataclass(frozen=True)
class Reply:
    """One scripted answer."""

    status: int = 200
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0

    def encode(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        if isinstance(self.body, bytes):
            payload = self.body
        elif isinstance(self.body, str):
            payload = self.body.encode("utf-8")
        elif self.body is None:
            payload = b""
        else:
            payload = json.dumps(self.body).encode("utf-8")
            if not any(k.lower() == "content-type" for k in headers):
                headers["Content-Type"] = "application/json"
        return payload, headers


@dataclass(frozen=True)
class Recorded:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any


_SPENT = Reply(418, {"error": {"message": "loopback: no scripted reply left", "type": "loopback"}})


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1 that plays back scripted replies and records requests."""

    def __init__(self, replies: Iterable[Reply] = (), *, repeat_last: bool = False) -> None:
        self._replies: list[Reply] = list(replies)
        self._served = 0
        self.repeat_last = repeat_last
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- scripting ------------------------------------------------------------------------

    def script(self, *replies: Reply) -> None:
        """Append replies to the script."""
        with self._lock:
            self._replies.extend(replies)

    def _next(self, recorded: Recorded) -> Reply:
        with self._lock:
            self.requests.append(recorded)
            if self._served < len(self._replies):
                reply = self._replies[self._served]
                self._served += 1
                return reply
            if self.repeat_last and self._replies:
                return self._replies[-1]
            return _SPENT

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the loopback server is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> LoopbackServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                try:
                    parsed = json.loads(body) if body else None
                except ValueError:
                    parsed = None
                recorded = Recorded(
                    method=self.command,
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                    json=parsed,
                )
                reply = owner._next(recorded)
                if reply.delay:
                    time.sleep(reply.delay)
                payload, headers = reply.encode()
                try:
                    self.send_response(reply.status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test); nothing to tell it

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="loopback-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
