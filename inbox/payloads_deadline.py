"""The JSON shape of a row's open SLA deadline (the ``deadline`` field of queue rows,
conversations and cases, and of the ``sla.deadline`` event's data), and its state: the one
place that says ok / warning / breached (the SLA tracker's selectors and the badges read it)."""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal

from django.utils import timezone

STATES = ("ok", "warning", "breached")
DisplayState = Literal["ok", "warning", "breached"]
UTC = zoneinfo.ZoneInfo("UTC")


def _field(info: Any, name: str) -> Any:
    """A field of the SLA tracker's deadline info, a mapping or an object alike."""
    if isinstance(info, Mapping):
        return info.get(name)
    return getattr(info, name, None)


@lru_cache(maxsize=512)
def zone_or_utc(name: str) -> zoneinfo.ZoneInfo:
    """The named zone, or UTC for a name the system does not know (a stale stored one).
    Remembered per name: a page asks for its shops' few zones once per row."""
    try:
        return zoneinfo.ZoneInfo(name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return UTC


def deadline_state(due_at: datetime, warn_at: datetime | None, now: datetime) -> DisplayState:
    """ok before the warning window; warning inside it (from ``warn_at``); breached from the
    due time on. Computed at read time, so a row read later shows the later state."""
    if now >= due_at:
        return "breached"
    if warn_at is not None and now >= warn_at:
        return "warning"
    return "ok"


def deadline_payload(
    info: Any, *, time_zone: str, now: datetime | None = None
) -> dict[str, Any] | None:
    """``info`` (monitoring.sla.selectors' deadline info: kind, due_at, warn_at) as the API
    shows it: due time in UTC and in the shop's zone, the warning time, the state now. None
    for no open deadline."""
    if info is None or _field(info, "due_at") is None:
        return None
    due_at: datetime = _field(info, "due_at")
    warn_at: datetime | None = _field(info, "warn_at")
    zone = zone_or_utc(time_zone)
    return {
        "kind": str(_field(info, "kind") or ""),
        "due_at": due_at.astimezone(UTC).isoformat(),
        "due_local": due_at.astimezone(zone).isoformat(),
        "time_zone": str(zone),
        "warn_at": warn_at.astimezone(UTC).isoformat() if warn_at else None,
        "state": deadline_state(due_at, warn_at, now or timezone.now()),
    }
