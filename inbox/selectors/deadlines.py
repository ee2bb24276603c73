"""Each listed row's open SLA deadline, read for a whole page at once.

The SLA tracker owns deadlines (``monitoring.sla``); the inbox reads them only through its
selector ``open_deadlines_for`` (one query for a page). Rows whose ``sla_due_at`` is the
sentinel have no open deadline, so they are not asked about (a page without deadlines costs
no query).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.utils import timezone

from inbox.models.conversations import ANSWERED_SENTINEL
from inbox.payloads_deadline import deadline_payload, zone_or_utc

Key = tuple[str, int]  # ("conversation" | "case", id)


def _has_open(item: Any) -> bool:
    due = getattr(item, "sla_due_at", None)
    return due is not None and due < ANSWERED_SENTINEL


def _shop_zone(item: Any) -> str:
    return getattr(item.shop_account, "time_zone", "") or "UTC"


def row_deadlines(
    *,
    conversations: Iterable[Any] = (),
    cases: Iterable[Any] = (),
    now: datetime | None = None,
    time_zone: str | None = None,
) -> dict[Key, dict[str, Any] | None]:
    """The ``deadline`` field of each given conversation and case (already read for a user
    who may see them; ``shop_account`` loaded with them, or ``time_zone``, their shop's, given):
    {(subject, id): payload or None}.

    One query at most (none when no row has an open deadline); a row whose deadline closed
    since it was read shows None.
    """
    chats = list(conversations)
    cases_ = list(cases)
    out: dict[Key, dict[str, Any] | None] = {("conversation", c.id): None for c in chats}
    out.update({("case", c.id): None for c in cases_})
    chat_ids = [c.id for c in chats if _has_open(c)]
    case_ids = [c.id for c in cases_ if _has_open(c)]
    if not chat_ids and not case_ids:
        return out
    infos = _open_deadlines_for(conversation_ids=chat_ids, case_ids=case_ids)
    now = now or timezone.now()
    zones = {("conversation", c.id): time_zone or _shop_zone(c) for c in chats}
    zones.update({("case", c.id): time_zone or _shop_zone(c) for c in cases_})
    for key, info in infos.items():
        if key in zones:
            out[key] = deadline_payload(info, time_zone=zones[key], now=now)
    return out


def _open_deadlines_for(*, conversation_ids: list[int], case_ids: list[int]) -> dict[Key, Any]:
    from monitoring.sla.selectors import open_deadlines_for

    found = open_deadlines_for(conversation_ids=conversation_ids, case_ids=case_ids)
    return {(str(subject), pk): info for (subject, pk), info in found.items()}


def end_of_viewer_day(user: Any, now: datetime | None = None) -> datetime:
    """The "due today" view's bound: midnight ending today in the viewer's own time zone
    (``Member.time_zone``), as an aware time. A row is due today when its open deadline falls
    before it (overdue ones included)."""
    from datetime import time, timedelta

    from inbox.selectors.accounts import member_for

    zone = zone_or_utc(member_for(user).time_zone)
    today = (now or timezone.now()).astimezone(zone).date()
    return datetime.combine(today + timedelta(days=1), time(0), tzinfo=zone)
