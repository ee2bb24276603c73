"""A real local HTTP/1.1 server for the HTTP client's tests (scrm/http.py, scrm/http_pool.py):
it answers by a script, per path, and records what each request looked like."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Seen:
    """One request as the server read it."""

    method: str
    path: str  # without the query
    port: int  # the client's, which names the connection
    target: str = ""  # the request line's target, as sent
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass
class Script:
    """What the server answers, per path, in order (the last answer repeats)."""

    answers: dict[str, list[tuple[int, dict[str, str], float]]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Close the connection after each answer without saying so (as a server whose keep-alive
    # timeout passed does): the client learns it only from the socket.
    close_silently: bool = False

    def on(self, path: str, *answers: int | tuple[int, dict[str, str]] | tuple[int, float]) -> None:
        parsed = []
        for answer in answers:
            if isinstance(answer, int):
                parsed.append((answer, {}, 0.0))
            elif isinstance(answer[1], dict):
                parsed.append((answer[0], answer[1], 0.0))
            else:
                parsed.append((answer[0], {}, float(answer[1])))
        self.answers[path] = parsed

    def next(self, path: str) -> tuple[int, dict[str, str], float]:
        with self.lock:
            queue = self.answers.get(path) or [(200, {}, 0.0)]
            return queue.pop(0) if len(queue) > 1 else queue[0]

    def calls(self, path: str) -> int:
        return sum(1 for seen in self.seen if seen.path == path)


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a pool expects

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path = self.path.split("?")[0]
            with script.lock:
                script.seen.append(
                    Seen(
                        self.command,
                        path,
                        self.client_address[1],
                        target=self.path,
                        headers=dict(self.headers.items()),
                        body=body,
                    )
                )
            status, headers, delay = script.next(path)
            time.sleep(delay)
            answer = b'{"ok": true}'
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
            except OSError:
                pass  # the client gave up waiting
            if script.close_silently:
                self.close_connection = True

        do_GET = do_POST = do_PUT = do_DELETE = _answer

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", script
    finally:
        httpd.shutdown()
        httpd.server_close()
