"""Loaded by pytest before pytest-django reads the settings (``-p tests._env`` in pyproject).

Tests run with test-only secrets (never the development fallbacks) and with the simulator
mounted, in whichever mode the environment selects: services when DATABASE_URL and REDIS_URL
are set (CI), embedded otherwise.
"""

import os
import tempfile

os.environ.setdefault("DJANGO_DEBUG", "1")
os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdef")
# A fixed test key (32 bytes): "test-key-for-scrm-suite-only-32b"
os.environ.setdefault("SCRM_ENCRYPTION_KEYS", "t1:dGVzdC1rZXktZm9yLXNjcm0tc3VpdGUtb25seS0zMmI=")
os.environ.setdefault("SCRM_SIMULATOR", "1")
os.environ.setdefault("SCRM_RUN_SCHEDULER", "0")
# Tasks run in their caller, for determinism; tests of the in-process worker start it themselves
# (tests/scrm/test_embedded_worker.py).
os.environ.setdefault("SCRM_TASKS_EAGER", "1")
os.environ.setdefault("SCRM_DATA_DIR", tempfile.mkdtemp(prefix="scrm-test-"))
os.environ.setdefault("SCRM_AUTH_THROTTLE", "1000/min")


def _redis_for_this_worker() -> None:
    """Under pytest-xdist each worker has its own test database (pytest-django adds the worker's
    name); give it its own Redis database too, so that one worker's channel groups, caches and
    queues (named after row ids that both databases reuse) never reach the other's sockets.
    Worker ``gwN`` takes the configured database number + N + 1 (modulo Redis's 16)."""
    url = os.environ.get("REDIS_URL", "")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not url or not worker.startswith("gw"):
        return
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    number = (base + int(worker[2:]) + 1) % 16
    os.environ["REDIS_URL"] = urlunsplit(parts._replace(path=f"/{number}"))


_redis_for_this_worker()
