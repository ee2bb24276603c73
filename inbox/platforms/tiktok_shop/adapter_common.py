"""Small conversions the TikTok Shop adapter modules share (no HTTP, no Django)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from inbox.platforms.base import platform_id

logger = logging.getLogger("inbox.platforms.tiktok_shop.adapter")


def warn_skipped(what: str, count: int) -> None:
    # A platform object whose id could never be stored, put in a URL or signed is left out
    # of the page (one bad row must not stop a sync for ever); the count only, no content.
    if count:
        logger.warning("tiktok_shop: %d %s without a valid platform id skipped", count, what)


def header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, candidate in headers.items():
        if key.lower() == lowered:
            return candidate
    return None


def dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def clamp(page_size: int, maximum: int) -> int:
    return max(1, min(int(page_size), maximum))


def as_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def path_id(value: str, what: str = "conversation_id") -> str:
    """A platform id for a URL path; InvalidPlatformId (never retried) for anything that would
    change the signed path or could not be signed ("../x", "\\ud800", a NUL)."""
    return platform_id(value, what)


def decode_content(value: Any) -> dict[str, Any]:
    """``content`` is a JSON-serialised string; keep an undecodable one as ``{"content": s}``."""
    if isinstance(value, dict):
        return value
    if not isinstance(value, str) or value == "":
        return {}
    try:
        decoded = json.loads(value)
    except ValueError:
        return {"content": value}
    return decoded if isinstance(decoded, dict) else {"content": decoded}


def utc_from_unix(value: Any) -> datetime:
    return datetime.fromtimestamp(as_int(value), tz=UTC)


def next_page_token(data: Mapping[str, Any]) -> str:
    return str(data.get("next_page_token") or "")


__all__ = [
    "as_int",
    "clamp",
    "decode_content",
    "dicts",
    "header",
    "next_page_token",
    "path_id",
    "utc_from_unix",
    "warn_skipped",
]
