"""Serve a simulator with uvicorn in a daemon thread (tests, the dev server, the CLI)."""

from __future__ import annotations

import socket
import threading
import time
from typing import TYPE_CHECKING, Any

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount

if TYPE_CHECKING:
    from inbox.platforms.tiktok_shop.simulator.core import Simulator


class SimulatorServer:
    """``SimulatorServer(sim).start()``; ``base_url`` includes ``root_path`` when one is given
    (the app is then mounted under that prefix, as the Django site mounts it)."""

    def __init__(
        self, sim: Simulator, host: str = "127.0.0.1", port: int = 0, *, root_path: str = ""
    ) -> None:
        self.sim = sim
        self.host = host
        self.port = port
        self.root_path = root_path.rstrip("/")
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}{self.root_path}"

    def _app(self) -> Any:
        if not self.root_path:
            return self.sim.asgi_app
        return Starlette(routes=[Mount(self.root_path, app=self.sim.asgi_app)])

    def start(self) -> SimulatorServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self._app(), log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        server = self._server
        self._thread = threading.Thread(
            target=lambda: server.run(sockets=[sock]), name="tiktok-sim-http", daemon=True
        )
        self._thread.start()
        if not self.sim.public_url:
            self.sim.public_url = self.base_url
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the simulator server did not start")
            time.sleep(0.01)
        return self

    def serve_forever(self) -> None:
        """Block until interrupted (the CLI)."""
        assert self._thread is not None  # noqa: S101
        try:
            while self._thread.is_alive():
                self._thread.join(timeout=0.5)
        except KeyboardInterrupt:
            self.stop()

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._server.force_exit = True  # do not wait for a deliberately delayed answer
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
