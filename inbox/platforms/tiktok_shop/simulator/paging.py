"""Keyset paging shared by the list endpoints: opaque cursors, ``""`` on the last page."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import Any

from inbox.platforms.tiktok_shop.simulator.state import bad_param


def page_size(query: dict[str, str], *, low: int, high: int, default: int | None) -> int:
    raw = query.get("page_size")
    if raw is None or raw == "":
        if default is None:
            raise bad_param("page_size is required.")
        return default
    try:
        size = int(raw)
    except ValueError as exc:
        raise bad_param("page_size must be an integer.") from exc
    if not low <= size <= high:
        raise bad_param(f"page_size must be between {low} and {high}.")
    return size


def paginate(
    items: Sequence[Any],
    key: Callable[[Any], list[int]],
    size: int,
    token: str,
    *,
    descending: bool,
) -> tuple[list[Any], str]:
    """Keyset paging over ``items`` (already in listing order); tokens are opaque cursors."""
    if token:
        try:
            cursor = json.loads(base64.urlsafe_b64decode(token.encode()))
            assert isinstance(cursor, list)  # noqa: S101 - caught just below
        except (ValueError, AssertionError) as exc:
            raise bad_param("page_token is invalid.") from exc
        items = [i for i in items if (key(i) < cursor if descending else key(i) > cursor)]
    page = list(items[:size])
    if len(items) <= size:
        return page, ""
    return page, base64.urlsafe_b64encode(json.dumps(key(page[-1])).encode()).decode()
