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
