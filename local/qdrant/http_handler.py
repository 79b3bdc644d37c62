"""The HTTP side of the embedded engine (server.py): the real server's JSON
envelope, the api-key check, health probes, and the defences against hostile
requests (body size from Content-Length alone, refusals answered before the
body is read, socket timeouts). Routes are routes.py's.
"""

from __future__ import annotations

import logging
import os
import time
from http.server import BaseHTTPRequestHandler
from typing import Any

import orjson

from routes import ROUTES, Store
from validation import ApiError, check_complexity

log = logging.getLogger("qdrant-local")

# Hostile requests (issue 13 finding 9). The real server's default limit on a
# request body (service.max_request_size_mb) is 32 MiB; 1.19 answers a JSON body
# above it with a 400 (not a 413), and so does this one (qdrant-conformance.test.ts).
MAX_BODY_BYTES = int(os.environ.get("QDRANT__SERVICE__MAX_REQUEST_SIZE_MB", "32")) * 1024 * 1024
# A client that stops sending mid-body (or never sends it) is dropped after this, instead of holding a thread.
SOCKET_TIMEOUT_S = 30
# A refused body is read and dropped up to this size so the client sees the answer; beyond it the connection is closed.
DRAIN_MAX_BYTES = 2 * MAX_BODY_BYTES

PROBES = {"/healthz": "healthz check passed", "/livez": "healthz check passed", "/readyz": "all shards are ready"}


class RequestHandler(BaseHTTPRequestHandler):
    server_version = "qdrant-local"
    # Keep-alive: the JS client reuses connections; HTTP/1.0 would reconnect per request.
    protocol_version = "HTTP/1.1"
    # Headers and body go out as two writes; with Nagle's algorithm the second
    # waits for the client's delayed ACK, 40 ms per response.
    disable_nagle_algorithm = True
    store: Store
    api_key: str | None
    # Bounds every read and write on the socket (StreamRequestHandler applies it).
    timeout = SOCKET_TIMEOUT_S

    def log_message(self, format: str, *args: Any) -> None:  # quiet: one line per error instead
        pass

    def do_GET(self) -> None:
        self.handle_api("GET")

    def do_POST(self) -> None:
        self.handle_api("POST")

    def do_PUT(self) -> None:
        self.handle_api("PUT")

    def do_DELETE(self) -> None:
        self.handle_api("DELETE")

    def send(self, status: int, payload: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def authorized(self) -> bool:
        if not self.api_key:
            return True
        bearer = self.headers.get("Authorization", "")
        return self.headers.get("api-key") == self.api_key or bearer == f"Bearer {self.api_key}"

    def refuse(self, status: int, message: str, started: float, length: int = 0) -> None:
        """Answers before reading the body, then closes the connection. The answer
        goes first, so a client that never sends its body still gets it at once;
        then up to DRAIN_MAX_BYTES of the declared body are read and dropped (64 KiB
        at a time, the socket timeout bounding a client that stalls), so a client
        still writing sees the answer rather than a broken pipe."""
        self.close_connection = True
        log.info("%s %s -> %d %s", self.command, self.path.partition("?")[0], status, message)
        self.send(status, orjson.dumps({"status": {"error": message}, "time": time.perf_counter() - started}))
        self.wfile.flush()
        left = length if 0 < length <= DRAIN_MAX_BYTES else 0
        try:
            while left > 0:
                chunk = self.rfile.read(min(left, 65536))
                if not chunk:
                    return
                left -= len(chunk)
        except OSError:  # the timeout, or the client hung up: nothing more to do
            return

    def content_length(self) -> int | None:
        """The declared body length; None when it is malformed (several, negative, not a number) or chunked."""
        values = self.headers.get_all("Content-Length") or []
        if self.headers.get("Transfer-Encoding"):
            return None
        if not values:
            return 0
        if len(set(v.strip() for v in values)) != 1 or not values[0].strip().isdigit():
            return None
        return int(values[0].strip())

    def handle_api(self, method: str) -> None:
        started = time.perf_counter()
        path, _, query_string = self.path.partition("?")
        length = self.content_length()
        if length is None:
            return self.refuse(400, "Bad request: malformed Content-Length (or a chunked body, which is not supported)", started)
        if method == "GET" and path in PROBES:
            self.rfile.read(length) if 0 < length <= MAX_BODY_BYTES else None
            self.send(200, PROBES[path].encode(), "text/plain; charset=utf-8")
            return
        # The key before the body: an unauthenticated client gets no read of up to 32 MiB.
        if not self.authorized():
            return self.refuse(401, "Must provide an API key or an Authorization bearer token", started, length)
        if length > MAX_BODY_BYTES:
            # The real server (1.19) answers this with a 400, not a 413, and this message.
            return self.refuse(400, f"JSON payload ({length} bytes) is larger than allowed (limit: {MAX_BODY_BYTES} bytes).", started, length)
        raw = self.rfile.read(length) if length else b""
        if len(raw) < length:
            self.close_connection = True
            return
        try:
            body = None
            if raw:
                try:
                    body = orjson.loads(raw)
                except orjson.JSONDecodeError as err:
                    raise ApiError(400, f"Format error in JSON body: {err}") from None
                check_complexity(body)
            query = dict(part.partition("=")[::2] for part in query_string.split("&") if part)
            for m, regex, fn, exclusive in ROUTES:
                match = regex.match(path)
                if match and m == method:
                    # Reads and writes to collections run concurrently (Edge orders a
                    # collection's writes); creating or dropping one waits for them.
                    with self.store.lock.write() if exclusive else self.store.lock.read():
                        result = fn(self.store, match.groupdict(), body, query)
                    break
            else:
                raise ApiError(404, f"Not found: {method} {path}")
            status, payload = 200, {"result": result, "status": "ok", "time": time.perf_counter() - started}
        except ApiError as err:
            status, payload = err.status, {"status": {"error": err.message}, "time": time.perf_counter() - started}
            log.info("%s %s -> %d %s", method, path, err.status, err.message)
        except Exception as err:  # a bug here must answer 500, never hang the client
            log.exception("%s %s failed", method, path)
            status, payload = 500, {"status": {"error": f"Service internal error: {err}"}, "time": time.perf_counter() - started}
        self.send(status, orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY))
