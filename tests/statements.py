"""The statements a test captured (``CaptureQueriesContext``), one per entry: a round trip may
carry several on PostgreSQL (``scrm.db.writes_deferred`` sends a store's deferred writes with
its next statement, joined by "; ")."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

_NEXT = re.compile(r";\s+(?=(?:INSERT|UPDATE|DELETE|SELECT|WITH)\b)")


def statements_in(sql: str) -> list[str]:
    """The statements of one round trip's SQL, in order."""
    return _NEXT.split(sql)


def statements_of(captured: Iterable[dict[str, Any]]) -> list[str]:
    return [part for query in captured for part in statements_in(query["sql"])]
