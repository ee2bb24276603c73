"""The supervisor's view of the team: who is online, who holds what, what waits longest."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, Min, Q
from django.utils import timezone

from inbox.models import (
    Conversation,
    DeliveryState,
    Direction,
    Member,
    Message,
    Role,
    ShopAccount,
)
from inbox.selectors.accounts import AnyUser, member_for, shop_account_list
from inbox.selectors.conversations import OPEN_STATUSES
from inbox.services.presence import PRESENCE_WINDOW, is_online
from scrm.api import Forbidden

# Same window as automatic assignment: an open socket seen within two minutes.
# One window for every reader of presence (inbox.services.presence says why it is safe).
ONLINE_WINDOW = PRESENCE_WINDOW
OLDEST_WAITING = 10


@dataclass
class AgentFigures:
    member: Member
    online: bool
    last_seen_at: datetime | None
    open_count: int = 0
    replies_today: int = 0


@dataclass
class ShopFigures:
    shop: ShopAccount
    open_count: int = 0
    unassigned_count: int = 0
    waiting_count: int = 0
    oldest_waiting_since: datetime | None = None


@dataclass
class TeamOverview:
    agents: list[AgentFigures]
    shops: list[ShopFigures]
    oldest_waiting: list[Conversation]
    day_start: datetime
    time_zone: str
    totals: dict[str, int] = field(default_factory=dict)


def _day_start(tz_name: str) -> datetime:
    try:
        tz = zoneinfo.ZoneInfo(tz_name)
    except zoneinfo.ZoneInfoNotFoundError:
        tz = zoneinfo.ZoneInfo("UTC")
    now = timezone.now().astimezone(tz)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def team_overview(user: AnyUser) -> TeamOverview:
    """Figures for a supervisor or admin over every shop of their organisation.

    Keeps: agents are refused (Forbidden); nothing outside the viewer's organisation is counted;
    "today" is the viewer's own day (their Member.time_zone); failed replies are not counted.
    A fixed number of queries whatever the team's size.
    """
    viewer = member_for(user)
    if not viewer.sees_all_shops:
        raise Forbidden("Only supervisors and admins see the team overview.")
    shops = list(shop_account_list(user))
    shop_ids = [s.id for s in shops]
    open_qs = Conversation.objects.filter(shop_account_id__in=shop_ids, status__in=OPEN_STATUSES)
    day_start = _day_start(viewer.time_zone)

    members = list(
        Member.objects.filter(organisation_id=viewer.organisation_id)
        .select_related("user", "user__presence")
        .order_by("role", "display_name", "user__username")
    )
    per_agent = dict(
        open_qs.filter(assignee__isnull=False)
        .values_list("assignee_id")
        .annotate(n=Count("id"))
        .values_list("assignee_id", "n")
    )
    replies = dict(
        Message.objects.filter(
            shop_account_id__in=shop_ids,
            direction=Direction.OUTBOUND,
            author__isnull=False,
            created_at__gte=day_start,
        )
        .exclude(delivery_state=DeliveryState.FAILED)
        .values_list("author_id")
        .annotate(n=Count("id"))
        .values_list("author_id", "n")
    )
    online_since = timezone.now() - ONLINE_WINDOW
    agents = []
    for m in members:
        presence = getattr(m.user, "presence", None)
        seen = presence.last_seen_at if presence is not None else None
        online = is_online(presence, since=online_since)
        agents.append(
            AgentFigures(
                member=m,
                online=online,
                last_seen_at=seen,
                open_count=per_agent.get(m.user_id, 0),
                replies_today=replies.get(m.user_id, 0),
            )
        )
    # Agents first (they carry the queue), then supervisors and admins.
    agents.sort(key=lambda a: (a.member.role != Role.AGENT, not a.online, a.member.name.lower()))

    per_shop: dict[int, dict[str, Any]] = {
        row["shop_account_id"]: dict(row)
        for row in open_qs.values("shop_account_id").annotate(
            open_count=Count("id"),
            unassigned_count=Count("id", filter=Q(assignee__isnull=True)),
            waiting_count=Count("id", filter=Q(waiting_since__isnull=False)),
            oldest=Min("waiting_since"),
        )
    }
    shop_rows = []
    for shop in shops:
        row: dict[str, Any] = per_shop.get(shop.id, {})
        shop_rows.append(
            ShopFigures(
                shop=shop,
                open_count=row.get("open_count", 0),
                unassigned_count=row.get("unassigned_count", 0),
                waiting_count=row.get("waiting_count", 0),
                oldest_waiting_since=row.get("oldest"),
            )
        )
    oldest = list(
        open_qs.filter(waiting_since__isnull=False)
        .select_related("shop_account", "customer", "assignee__member")
        .order_by("waiting_since", "id")[:OLDEST_WAITING]
    )
    totals = {
        "online": sum(1 for a in agents if a.online),
        "open": sum(s.open_count for s in shop_rows),
        "unassigned": sum(s.unassigned_count for s in shop_rows),
        "replies_today": sum(a.replies_today for a in agents),
    }
    return TeamOverview(
        agents=agents,
        shops=shop_rows,
        oldest_waiting=oldest,
        day_start=day_start,
        time_zone=viewer.time_zone,
        totals=totals,
    )
