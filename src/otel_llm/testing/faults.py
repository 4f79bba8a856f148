"""Fault servers on loopback for reliability tests: point an `aws` backend endpoint at one of them.

- `HangingServer`: accepts every connection and never answers (a black-holed endpoint);
- `ThrottlingServer`: answers every request with HTTP 429 `ThrottlingException`, as Bedrock and
  Comprehend do when a quota is spent.

Both count what reached them, so a test can tell that a circuit breaker kept calls away.
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class HangingServer:
    """`with HangingServer() as server: ...endpoint_url=server.endpoint_url`: connections are accepted
    (the kernel completes the handshake) and held open, unread and unanswered, until `stop()`."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, 0))
        self._sock.listen(128)
        self._sock.settimeout(0.05)
        self._held: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="hanging-server", daemon=True)

    @property
    def endpoint_url(self) -> str:
        host, port = self._sock.getsockname()[:2]
        return f"http://{host}:{port}"

    @property
    def connections(self) -> int:
        """Connections accepted so far."""
        with self._lock:
            return len(self._held)

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            with self._lock:
                self._held.append(conn)

    def start(self) -> HangingServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(1.0)
        with self._lock:
            for conn in self._held:
                conn.close()
        self._sock.close()

    def __enter__(self) -> HangingServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ThrottlingServer:
    """Answers every POST with 429 ThrottlingException (REST-JSON and JSON 1.1 clients both read it)."""

    def __init__(self, host: str = "127.0.0.1", code: str = "ThrottlingException") -> None:
        self.code = code
        self.requests = 0
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name="throttling",
                                        daemon=True)

    @property
    def endpoint_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # quiet
                return None

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with server._lock:
                    server.requests += 1
                body = json.dumps({"__type": server.code, "message": "Rate exceeded"}).encode()
                self.send_response(429)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("x-amzn-ErrorType", f"{server.code}:")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler

    def start(self) -> ThrottlingServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> ThrottlingServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
