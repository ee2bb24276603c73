"""``manage.py serve`` in a child process, for the tests that need the real server (the
in-process worker, idle websockets), and a free local port for any test server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def wait_until(check: Callable[[], object], timeout: float = 30.0, interval: float = 0.05) -> bool:
    """Whether ``check()`` came true within ``timeout`` seconds (asked every ``interval``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return False


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_process(
    port: int, env: dict[str, str], log_prefix: str, *, port_in_env: bool = True
) -> tuple[subprocess.Popen, Path]:
    """``manage.py serve`` on 127.0.0.1:``port`` with ``env``, its output in a log file (the
    caller reads it in failures and deletes it). PORT is set to ``port`` too, as ``make``
    does, unless ``port_in_env`` is false (then serve starts itself again with it)."""
    log = tempfile.NamedTemporaryFile(prefix=log_prefix, suffix=".log", delete=False)  # noqa: SIM115
    if port_in_env:
        env = {**env, "PORT": str(port)}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()  # the child has its own handle
    return process, Path(log.name)


def services_env(**extra: str) -> dict[str, str]:
    """The environment of a served process in services mode on this test's PostgreSQL
    database and this run's Redis, without the simulator or the scheduler; ``extra`` on top."""
    from django.db import connection

    db = connection.settings_dict
    return dict(
        os.environ,
        DATABASE_URL=(
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        SCRM_SIMULATOR="0",
        SCRM_RUN_SCHEDULER="0",
        SCRM_DB_POOL_MIN="1",
        **extra,
    )


def wait_listening(process: subprocess.Popen, port: int, log: Path, timeout: float = 20.0) -> None:
    """Return once the served ``process`` accepts connections on ``port``; raise with its log
    if it exits or does not within ``timeout`` seconds (killed then)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(log.read_text()) from None
            time.sleep(0.1)


def services_only(why: str) -> pytest.MarkDecorator:
    """Skip a served test in the embedded mode (no ``REDIS_URL``): ``why`` it needs the
    services. CI sets ``REDIS_URL`` and runs it."""
    return pytest.mark.skipif(
        not os.environ.get("REDIS_URL"),
        reason=f"services mode only (REDIS_URL unset): {why}; CI sets REDIS_URL and runs this test",
    )
