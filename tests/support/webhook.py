"""A local webhook receiver for the alert outbox tests (no tests here)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from support.served import free_port

__all__ = ["Receiver", "free_port", "url_of"]  # free_port: where a receiver is down


class Receiver:
    """A webhook receiver on 127.0.0.1 that answers 503 to the first ``fail`` POSTs; on
    ``port`` when given (a receiver coming up where one was down), else a free one."""

    def __init__(self, fail: int, delay_s: float = 0.0, port: int = 0) -> None:
        """Start it."""
        self.bodies: list[dict] = []
        self.keys: list[str] = []
        self.calls = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                n = int(self.headers["Content-Length"])
                data = json.loads(self.rfile.read(n))
                outer.calls += 1
                time.sleep(delay_s)
                ok = outer.calls > fail
                if ok:
                    outer.bodies.append(data)
                    outer.keys.append(self.headers.get("Idempotency-Key", ""))
                self.send_response(200 if ok else 503)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"errcode": 0, "errmsg": "ok"}')

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = url_of(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        """Stop it."""
        self.server.shutdown()
        self.server.server_close()


def url_of(port: int) -> str:
    """The receiver's URL on ``port``."""
    return f"http://127.0.0.1:{port}/hook"
