"""Shared plumbing of the benchmarks: services-mode environment, throw-away database, server
subprocesses, a small keep-alive HTTP load client, percentiles and tables.

Everything talks to 127.0.0.1 only; every database this module creates is dropped again.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
# Redis db 15 by default: the suite's workers take the configured db + 1, + 2 (CI: 0, 1, 2), and
# the bench refuses a db holding keys it did not write (``redis_flush``).
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
REDIS_OWNER_KEY = "scrmbench:owned"
# A fixed key so the bench process, the server and the worker read each other's ciphertext.
ENCRYPTION_KEYS = "bench:" + "YmVuY2gta2V5LW5vdC1mb3ItcHJvZHVjdGlvbi0wMDA="
PROTECTED_DATABASES = frozenset({"test", "test_test", "postgres", "template0", "template1"})
# The bench databases belong to a role with a connection limit, so a connection leak in the
# code under test fails the bench, not the shared server's other users (100 slots in all).
DB_ROLE = "scrm_bench"
DB_ROLE_CONNECTION_LIMIT = 60
SETTINGS_VARIANTS = {
    "shipped": "scrm.settings",
    "conn0": "bench.settings_conn0",
    "pool": "bench.settings_pool",
}


def services_env(db_name: str, variant: str = "shipped") -> dict[str, str]:
    """Production-like services mode (DEBUG off, no SSL redirect) on a bench database."""
    if db_name in PROTECTED_DATABASES or not db_name.startswith("scrm_bench"):
        raise ValueError(f"refusing to use database {db_name!r}")
    return {
        "DATABASE_URL": f"postgres://{DB_ROLE}@127.0.0.1:5432/{db_name}",
        "REDIS_URL": REDIS_URL,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "bench-secret-key-not-for-production-0123456789abcdef",
        "SCRM_ENCRYPTION_KEYS": ENCRYPTION_KEYS,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "SCRM_SIMULATOR": "0",
        "SCRM_RUN_SCHEDULER": "0",
        "SCRM_LOG_LEVEL": "WARNING",
        "SCRM_CHANNEL_PREFIX": "scrmbench",
        "DJANGO_SETTINGS_MODULE": SETTINGS_VARIANTS[variant],
    }


def _extra_path() -> list[str]:
    return [p for p in os.environ.get("BENCH_EXTRA_PYTHONPATH", "").split(os.pathsep) if p]


def pool_available() -> bool:
    """psycopg_pool importable here (and so in the children, which get the same path)."""
    for p in _extra_path():
        if p not in sys.path:
            sys.path.append(p)
    try:
        import psycopg_pool  # noqa: F401
    except ImportError:
        return False
    return True


def child_env(db_name: str, variant: str = "shipped", extra: dict | None = None) -> dict[str, str]:
    env = {**os.environ, **services_env(db_name, variant), **(extra or {})}
    path = [str(ROOT), *_extra_path()]
    env["PYTHONPATH"] = os.pathsep.join(path + [p for p in [env.get("PYTHONPATH")] if p])
    return env


def setup_django(db_name: str, extra: dict[str, str] | None = None) -> None:
    """Point this process at the bench database (services mode) and set Django up."""
    os.environ.update(services_env(db_name))
    os.environ.update(extra or {})
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _admin_execute(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql)


def database_create(db_name: str) -> None:
    services_env(db_name)  # name check
    redis_claim()
    _admin_execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
    with contextlib.suppress(Exception):  # already there
        _admin_execute(f"CREATE ROLE {DB_ROLE} LOGIN CONNECTION LIMIT {DB_ROLE_CONNECTION_LIMIT}")
    _admin_execute(f'CREATE DATABASE "{db_name}" OWNER {DB_ROLE}')


def database_drop(db_name: str) -> None:
    services_env(db_name)
    with contextlib.suppress(Exception):
        from django.db import connections

        connections.close_all()
    _admin_execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
    with contextlib.suppress(Exception):  # still owns another bench database
        _admin_execute(f"DROP ROLE IF EXISTS {DB_ROLE}")


def in_database(db_name: str, run: Callable[[], None]) -> None:
    """``run()`` in this process on a throw-away database (created, migrated, dropped after)
    and the benchmarks' Redis db (flushed before and after), with the machine's load printed
    around it: the in-process benchmarks' frame."""
    print(f"machine: {machine()}; load average before: {os.getloadavg()}")
    database_create(db_name)
    try:
        setup_django(db_name)
        migrate()
        redis_flush()
        run()
    finally:
        from django.db import connections

        connections.close_all()
        redis_flush()
        database_drop(db_name)
    print(f"load average after: {os.getloadavg()}")


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def redis_claim() -> None:
    """Mark the bench's Redis db as its own before anything writes to it (``database_create``
    calls it: every bench starts there); refused when the db holds someone else's keys."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        if client.dbsize() and not client.exists(REDIS_OWNER_KEY):
            db = client.connection_pool.connection_kwargs.get("db", 0)
            raise ValueError(
                f"Redis db {db} holds keys the benchmarks did not write: set BENCH_REDIS_URL "
                "to an empty db (redis://127.0.0.1:6379/<n>)"
            )
        client.set(REDIS_OWNER_KEY, "1")
    finally:
        client.close()


def redis_flush() -> None:
    """Empty the bench's own Redis db: one that is empty or that a bench marked as its own
    (``REDIS_OWNER_KEY``); a db holding someone else's keys (a test run, a server) is refused
    with what to do, never flushed. Marks it as the bench's again."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        db = client.connection_pool.connection_kwargs.get("db", 0)
        if db == 0:
            raise ValueError("refusing to flush Redis db 0")
        if client.dbsize() and not client.exists(REDIS_OWNER_KEY):
            raise ValueError(
                f"Redis db {db} holds keys the benchmarks did not write: set BENCH_REDIS_URL "
                "to an empty db (redis://127.0.0.1:6379/<n>)"
            )
        client.flushdb()
        client.set(REDIS_OWNER_KEY, "1")
    finally:
        client.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(port: int, path: str = "/healthz", timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), timeout=1) as s,
        ):
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
            if s.recv(64).startswith(b"HTTP/1.1 200"):
                return
        time.sleep(0.2)
    raise RuntimeError(f"server on port {port} did not answer {path} in {timeout:.0f}s")


@contextlib.contextmanager
def subprocess_running(args: Sequence[str], env: dict[str, str], log: Path) -> Iterator[int]:
    """Run a child in its own process group; stop that group (and only it) on exit."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            list(args),
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield proc.pid
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)


@contextlib.contextmanager
def server_running(
    db_name: str, *, workers: int, log: Path, extra: dict | None = None, variant: str = "shipped"
):
    """``uvicorn scrm.asgi:application`` (uvloop + httptools, no access log) on a free port."""
    port = free_port()
    env = child_env(db_name, variant, extra)
    args = [
        PYTHON,
        "-m",
        "uvicorn",
        "scrm.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    with subprocess_running(args, env, log):
        wait_http(port)
        yield port


# --- a small HTTP/1.1 keep-alive client -----------------------------------------------------
# httpx costs ~0.5 ms of CPU per request, which on two cores is taken from the server under
# test; this client only writes prepared bytes and reads a status line and a body length.
async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return status


async def http_load(
    port: int,
    requests: Sequence[bytes],
    *,
    concurrency: int = 32,
    time_limit: float = 60.0,
) -> tuple[float, list[float], dict[int, int]]:
    """Send prepared raw requests over ``concurrency`` keep-alive connections.

    Returns (elapsed seconds, latencies in ms, status counts; 0 = connection dropped). Stops
    early (requests left unsent) once ``time_limit`` seconds have passed.
    """
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue = iter(requests)
    deadline = time.perf_counter() + time_limit

    async def connection() -> None:
        writer = None
        try:
            for raw in queue:
                if time.perf_counter() > deadline:
                    return
                t0 = time.perf_counter()
                try:
                    if writer is None:
                        reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    writer.write(raw)
                    status = await _read_response(reader)
                except (OSError, asyncio.IncompleteReadError):
                    status = 0  # connection dropped by the server: counted, then reconnect
                    writer = None
                latencies.append((time.perf_counter() - t0) * 1000)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            if writer is not None:
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()

    start = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return time.perf_counter() - start, latencies, statuses


async def http_load_rate(
    port: int,
    requests: Sequence[bytes],
    *,
    rate: float,
    max_connections: int = 64,
    time_limit: float = 60.0,
) -> tuple[float, list[float], dict[int, int]]:
    """Open loop: request i is due at ``start + i / rate``, whether or not earlier ones have been
    answered (as a platform delivers webhooks). Latency counts from when a request was due, so
    time spent waiting for a free connection is counted too (no coordinated omission). At most
    ``max_connections`` keep-alive connections; status 0 = dropped.

    Returns (elapsed seconds from the first due time to the last answer, latencies in ms,
    status counts).
    """
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    idle: asyncio.Queue = asyncio.Queue()
    # The client's own collector pauses would show as server latency.
    gc.collect()
    gc.disable()
    opened = 0
    loop = asyncio.get_running_loop()

    async def one(raw: bytes, due: float) -> None:
        nonlocal opened
        if idle.empty() and opened < max_connections:
            opened += 1
            conn = None
        else:
            conn = await idle.get()
        try:
            if conn is None:
                conn = await asyncio.open_connection("127.0.0.1", port)
            reader, writer = conn
            writer.write(raw)
            status = await _read_response(reader)
        except (OSError, asyncio.IncompleteReadError):
            status = 0
            if conn is not None:
                conn[1].close()
            conn = None
        latencies.append((loop.time() - due) * 1000)
        statuses[status] = statuses.get(status, 0) + 1
        if conn is None:
            opened -= 1
        else:
            idle.put_nowait(conn)

    start = loop.time() + 0.05
    tasks = []
    for i, raw in enumerate(requests):
        due = start + i / rate
        if due - start > time_limit:
            break
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(raw, due)))
    await asyncio.gather(*tasks)
    elapsed = loop.time() - start
    gc.enable()
    while not idle.empty():
        _reader, writer = idle.get_nowait()
        writer.close()
    return elapsed, latencies, statuses


def raw_request(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


# --- figures ---------------------------------------------------------------------------------
def pct(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in header]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    out = [f"\n## {title}", ""]
    for n, row in enumerate(cells):
        out.append("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
        if n == 0:
            out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    text = "\n".join(out)
    print(text, flush=True)
    return text


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def core_speed() -> float:
    """Seconds one core takes for a 10M-iteration Python loop (best of three): the machines
    these benches run on differ by up to 3x per core, so every table names it (lower is
    faster; ~0.35 s on a fast core)."""
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        total = 0
        for i in range(10_000_000):
            total += i
        best = min(best, time.perf_counter() - t0)
    return best


def machine() -> str:
    cores = os.cpu_count()
    mem = ""
    with contextlib.suppress(OSError), open("/proc/meminfo") as f:
        mem = f.readline().split(":")[1].strip()
    return (
        f"{cores} cores, MemTotal {mem}, Python {sys.version.split()[0]}, "
        f"10M-step loop {core_speed():.2f} s"
    )


# Rows a benchmark generates in SQL share one row uid and draw their encrypted values from a
# small pool sealed for it (AES-GCM cannot run inside PostgreSQL): the code under test then
# decrypts real ciphertexts of realistic sizes, as it does in production.
BENCH_ROW_UID = "5eed0000-0000-4000-8000-000000000000"


def sealed_pool(model: type, field_name: str, values: Sequence[object]) -> list[str]:
    """``values`` as ``model.field_name`` stores them for a row whose uid is ``BENCH_ROW_UID``
    (the ``v2:<kid>:...`` tokens; "" stays "")."""
    field = model._meta.get_field(field_name)
    return [field.get_prep_value(field.seal(v, BENCH_ROW_UID)) for v in values]
