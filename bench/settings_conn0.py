"""The project's settings with CONN_MAX_AGE=0: the fix the ingestion bench measures next to the
shipped settings (see docs/performance.md, "Persistent connections under ASGI").

Not product configuration: only the benchmarks point DJANGO_SETTINGS_MODULE here.
"""

from scrm.settings import *  # noqa: F403
from scrm.settings import DATABASES

DATABASES["default"]["CONN_MAX_AGE"] = 0
