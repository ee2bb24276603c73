"""The change feed a person may read: the events of their shops, their own, and (supervisors
and admins) their organisation's supervisors' events — each shaped for them as their socket
shapes it (``scrm.events.event_shape``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Q
from django.db.models.expressions import RawSQL

from inbox.models import InboxEvent
from inbox.selectors.accounts import AnyUser, member_for, shop_account_ids_for
from scrm.events import Viewer, event_shape

# PostgreSQL hands out event ids when rows are inserted, not when they commit: event 102 can be
# visible while 101 is still in flight, and a client moving its "last id" past 102 would skip
# 101 for good. The feed returns only events of transactions older than every transaction
# still running that could have written one; SQLite serialises writers, so order is commit
# order there.
#
# Transaction ids are the whole server's, so pg_snapshot_xmin alone waits for transactions of
# every database on it too (a report left open in another database held the live inbox back
# until it ended). The horizon is the oldest running transaction of the snapshot less those
# that pg_stat_activity shows in another database. It errs only one way: a transaction whose
# database cannot be told (it ended between the snapshot and the read of pg_stat_activity, a
# prepared transaction, a session whose xid is hidden) still holds the feed back, as before.
# An xid8 is compared by its low 32 bits with pg_stat_activity's xid; the running transactions
# of one snapshot are always within 2^31 of each other, so the low bits tell them apart.
SAFE_TXID = """COALESCE(
    (SELECT min(x::text::bigint) FROM pg_snapshot_xip(pg_current_snapshot()) AS x
     WHERE mod(x::text::bigint, 4294967296) NOT IN (
        SELECT backend_xid::text::bigint FROM pg_stat_activity
        WHERE backend_xid IS NOT NULL AND datname IS DISTINCT FROM current_database())),
    pg_snapshot_xmax(pg_current_snapshot())::text::bigint)"""
OWN_TXID = "pg_current_xact_id_if_assigned()::text::bigint"


@dataclass(frozen=True)
class FeedEvent:
    """One change-feed event as its reader may see it."""

    id: int
    type: str
    data: dict[str, Any]


def viewer_for(user: AnyUser) -> Viewer:
    """Who an event is shaped for: the person, their organisation and role."""
    member = member_for(user)
    return Viewer(user_id=member.user_id, organisation_id=member.organisation_id, role=member.role)


def _audience(user: AnyUser) -> Q:
    """The rows ``user`` may read: their shops' events, their own, and — supervisors and
    admins — their organisation's supervisors' events (neither shop nor user set)."""
    member = member_for(user)
    audience = Q(shop_account_id__in=shop_account_ids_for(user)) | Q(user_id=user.pk)
    if member.sees_all_shops:
        audience |= Q(
            organisation_id=member.organisation_id,
            shop_account_id__isnull=True,
            user_id__isnull=True,
        )
    return audience


def event_list_after(user: AnyUser, after_id: int, limit: int = 500) -> list[FeedEvent]:
    """Change-feed events after ``after_id`` that the user may see, oldest first, each payload
    shaped for the user exactly as their open socket received it."""
    qs = InboxEvent.objects.filter(id__gt=after_id).filter(_audience(user))
    if connection.vendor == "postgresql":
        qs = qs.filter(  # constant SQL, no input
            Q(txid__lt=RawSQL(SAFE_TXID, []))  # noqa: S611
            | Q(txid=RawSQL(OWN_TXID, []))  # noqa: S611 - a transaction sees its own events
        )
    viewer = viewer_for(user)
    return [
        FeedEvent(id=e.id, type=e.type, data=event_shape(e.type, e.data, viewer))
        for e in qs.order_by("id")[:limit]
    ]


def event_last_id(user: AnyUser) -> int:
    """The newest event id the user may see: a page or socket opened now has seen everything
    up to it (never the deployment-wide maximum, which would show other tenants' volume)."""
    last = (
        InboxEvent.objects.filter(_audience(user))
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )
    return last or 0
