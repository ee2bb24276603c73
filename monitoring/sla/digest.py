"""The same-day digest: at the end of each shop's working day (its calendar, its time zone),
what is still open and who holds it, once per shop and local day, to the shop's supervisors
and admins (bell, live ``sla.alert``, the organisation's channels).

Once: an ``SlaAlert`` of kind ``digest`` is unique per shop and ``digest_date``; it is inserted
``ON CONFLICT DO NOTHING ... RETURNING`` and only a sweep that inserted it tells anyone. A day
whose end passed while no worker ran is still digested when they return, within
``CATCH_UP`` (a digest half a day late is news no more).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from monitoring.models.sla import AlertKind, Deadline, DeadlineState, SlaAlert
from monitoring.sla.alerts import People, alert_tell, subjects_for

CATCH_UP = timedelta(hours=12)
IDS_KEPT = 50  # subject ids listed in a digest's data (the counts are complete)


@dataclass(frozen=True)
class _Shop:
    id: int
    organisation_id: int


def sla_digest(*, now: datetime | None = None) -> int:
    """Record and send the digest of every active shop whose working day ended (within
    ``CATCH_UP``) and has none for that local day yet; returns how many were sent.

    Keeps: one digest per shop and local day whatever runs at once or again; a shop's day off
    or holiday has none; ids and counts only in the digest (no buyer data).
    """
    from inbox.models import ShopAccount
    from monitoring.sla.calendar import working_day_end
    from monitoring.sla.policies import calendar_for_shop

    now = now or timezone.now()
    shops = list(ShopAccount.objects.filter(is_active=True).values_list("id", "organisation_id"))
    done = set(
        SlaAlert.objects.filter(
            kind=AlertKind.DIGEST, digest_date__gte=(now - timedelta(days=2)).date()
        ).values_list("shop_account_id", "digest_date")
    )
    sent = 0
    for shop_id, organisation_id in shops:
        calendar = calendar_for_shop(shop_id)
        today = now.astimezone(calendar.tz).date()
        for day in (today - timedelta(days=1), today):
            if (shop_id, day) in done:
                continue
            end = working_day_end(day, calendar=calendar)
            if end is None or not (end <= now < end + CATCH_UP):
                continue
            sent += digest_send(shop=_Shop(shop_id, organisation_id), day=day, now=now)
    return sent


@transaction.atomic
def digest_send(*, shop: _Shop, day: date, now: datetime) -> int:
    """One shop's digest for one local day: recorded (unless already) and told to the shop's
    supervisors; 1 if this call sent it, else 0."""
    data = digest_counts(shop_account_id=shop.id, now=now)
    alert = _insert(shop, day, data, now)
    if alert is None:
        return 0
    supervisors = People().supervisors(shop.organisation_id)
    alert_tell(alert=alert, user_ids=supervisors, deadline=None, now=now)
    return 1


def digest_counts(*, shop_account_id: int, now: datetime) -> dict[str, Any]:
    """What the shop still has open: requests (subjects with an open deadline), by holder
    (the conversation's assignee's id; ``"unassigned"``), its open deadlines already past due,
    and the first ids of each subject kind."""
    rows = list(
        Deadline.objects.filter(shop_account_id=shop_account_id, state=DeadlineState.OPEN)
        .only("id", "conversation_id", "case_id", "due_at")
        .order_by("due_at", "id")
    )
    subjects = subjects_for(rows)
    seen: set[tuple[str, int]] = set()
    by_holder: dict[str, int] = {}
    ids: dict[str, list[int]] = {"conversation": [], "case": []}
    for d in rows:
        kind = "conversation" if d.conversation_id else "case"
        key = (kind, d.conversation_id or d.case_id or 0)
        if key in seen:
            continue
        seen.add(key)
        holder = subjects[d.id].assignee_id
        name = str(holder) if holder else "unassigned"
        by_holder[name] = by_holder.get(name, 0) + 1
        ids[key[0]].append(key[1])
    return {
        "open_count": len(seen),
        "by_holder": by_holder,
        "overdue_deadlines": sum(1 for d in rows if d.due_at <= now),
        "conversation_ids": ids["conversation"][:IDS_KEPT],
        "case_ids": ids["case"][:IDS_KEPT],
    }


def _insert(shop: _Shop, day: date, data: dict[str, Any], now: datetime) -> SlaAlert | None:
    meta = SlaAlert._meta
    json_cast = "::jsonb" if connection.vendor == "postgresql" else ""
    sql = (  # names from the model's metadata; values are parameters
        f'INSERT INTO "{meta.db_table}" (organisation_id, shop_account_id, kind, '  # noqa: S608
        "threshold_minutes, digest_date, escalated, data, created_at) "
        f"VALUES (%s, %s, %s, 0, %s, %s, %s{json_cast}, %s) ON CONFLICT DO NOTHING RETURNING id"
    )
    params: list[Any] = [
        shop.organisation_id,
        shop.id,
        AlertKind.DIGEST.value,
        connection.ops.adapt_datefield_value(day),
        True,
        json.dumps(data),
        connection.ops.adapt_datetimefield_value(now),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    return SlaAlert(
        id=row[0],
        organisation_id=shop.organisation_id,
        shop_account_id=shop.id,
        kind=AlertKind.DIGEST,
        digest_date=day,
        escalated=True,
        data=data,
        created_at=now,
    )
