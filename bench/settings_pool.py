"""The project's settings with psycopg's connection pool instead of persistent connections: the
fix the ingestion bench measures next to the shipped settings (docs/performance.md).

Needs ``psycopg_pool`` (``psycopg[pool]``), which requirements.txt does not pin; the bench runs
this variant only when it can import it (``BENCH_EXTRA_PYTHONPATH`` may point at a scratch
``pip install --target`` folder). Not product configuration.
"""

import os

from scrm.settings import *  # noqa: F403
from scrm.settings import DATABASES

DATABASES["default"]["CONN_MAX_AGE"] = 0
DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
    "min_size": 2,
    "max_size": int(os.environ.get("BENCH_POOL_MAX", "8")),
    "timeout": 10,
}
