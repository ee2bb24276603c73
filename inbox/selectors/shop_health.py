"""How each shop account is doing: its webhooks, its sync streams, its failed outbox actions
(replies, marking read, and the kinds to come).

For supervisors (who read it) and admins (who also manage the shops) on the shop accounts page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from inbox.models import (
    Member,
    OutboxAction,
    OutboxState,
    ShopAccount,
    SyncCursor,
    SyncStream,
    WebhookEvent,
    WebhookEventStatus,
)
from inbox.selectors.accounts import AnyUser, member_for, shop_connected
from inbox.selectors.people import admin_member
from scrm.api import Forbidden, NotFound

# Counts of failures are over this window: recent enough to act on.
HEALTH_WINDOW = timedelta(days=7)
# A webhook still waiting this long after it arrived means processing is stuck.
WAITING_AFTER = timedelta(minutes=5)
# Streams shown even before their first run (the others appear once they have a cursor).
ALWAYS_SHOWN = (SyncStream.MESSAGES,)


@dataclass(frozen=True)
class StreamHealth:
    stream: str
    label: str
    last_run_at: datetime | None
    last_error: str
    high_water: datetime | None

    @property
    def ok(self) -> bool:
        return self.last_run_at is not None and not self.last_error


@dataclass
class ShopHealth:
    shop: ShopAccount
    connected: bool  # has credentials to call the platform with
    last_webhook_at: datetime | None
    webhooks_failed: int = 0
    webhooks_waiting: int = 0
    # Outbox actions given up on, by kind ("reply", "mark_read", ...).
    actions_failed: dict[str, int] = field(default_factory=dict)
    streams: list[StreamHealth] = field(default_factory=list)

    @property
    def actions_failed_total(self) -> int:
        return sum(self.actions_failed.values())

    @property
    def state(self) -> str:
        """``disconnected``, ``attention`` (something failed) or ``ok``."""
        if not self.shop.is_active:
            return "disconnected"
        if (
            not self.connected
            or self.webhooks_failed
            or self.webhooks_waiting
            or self.actions_failed
            or any(s.last_error for s in self.streams)
        ):
            return "attention"
        return "ok"


def _require_reader(user: AnyUser) -> Member:
    member = member_for(user)
    if not member.sees_all_shops:
        raise Forbidden("Only supervisors and admins see the shop accounts.")
    return member


def shop_health_list(user: AnyUser) -> list[ShopHealth]:
    """Every shop account of the viewer's organisation with its health, active ones first.

    Keeps: supervisors and admins only (agents Forbidden); nothing outside the organisation;
    failures counted over ``HEALTH_WINDOW``; four queries whatever the number of shops.
    """
    member = _require_reader(user)
    return _health(ShopAccount.objects.filter(organisation_id=member.organisation_id))


def shop_health_get(user: AnyUser, shop_account_id: int) -> ShopHealth:
    """One shop account of the viewer's organisation with its health, or NotFound."""
    member = _require_reader(user)
    found = _health(
        ShopAccount.objects.filter(organisation_id=member.organisation_id, pk=shop_account_id)
    )
    if not found:
        raise NotFound("Shop account not found.")
    return found[0]


def _health(shops_qs: QuerySet[ShopAccount]) -> list[ShopHealth]:
    newest_webhook = (
        WebhookEvent.objects.filter(shop_account_id=OuterRef("pk"))
        .order_by("-received_at")
        .values("received_at")[:1]
    )
    shops = list(
        shops_qs.annotate(last_webhook_at=Subquery(newest_webhook)).order_by(
            "-is_active", "name", "id"
        )
    )
    ids = [s.pk for s in shops]
    now = timezone.now()
    since = now - HEALTH_WINDOW
    webhooks: dict[int, tuple[int, int]] = {
        row["shop_account_id"]: (row["failed"], row["waiting"])
        for row in WebhookEvent.objects.filter(shop_account_id__in=ids, received_at__gte=since)
        .values("shop_account_id")
        .annotate(
            failed=Count("id", filter=Q(status=WebhookEventStatus.FAILED)),
            waiting=Count(
                "id",
                filter=Q(status=WebhookEventStatus.RECEIVED, received_at__lt=now - WAITING_AFTER),
            ),
        )
    }
    actions: dict[int, dict[str, int]] = {}
    for shop_id, kind, n in (
        OutboxAction.objects.filter(
            shop_account_id__in=ids, state=OutboxState.FAILED, created_at__gte=since
        )
        .values_list("shop_account_id", "kind")
        .annotate(n=Count("id"))
        .values_list("shop_account_id", "kind", "n")
    ):
        actions.setdefault(shop_id, {})[kind] = n
    cursors: dict[int, dict[str, SyncCursor]] = {}
    for cursor in SyncCursor.objects.filter(shop_account_id__in=ids):
        cursors.setdefault(cursor.shop_account_id, {})[cursor.stream] = cursor
    labels = dict(SyncStream.choices)
    result = []
    for shop in shops:
        own = cursors.get(shop.pk, {})
        streams = [
            StreamHealth(
                stream=stream,
                label=str(labels[stream]),
                last_run_at=own[stream].last_run_at if stream in own else None,
                last_error=own[stream].last_error if stream in own else "",
                high_water=own[stream].high_water if stream in own else None,
            )
            for stream in SyncStream.values
            if stream in own or stream in ALWAYS_SHOWN
        ]
        failed, waiting = webhooks.get(shop.pk, (0, 0))
        result.append(
            ShopHealth(
                shop=shop,
                connected=shop_connected(shop),
                last_webhook_at=getattr(shop, "last_webhook_at", None),
                webhooks_failed=failed,
                webhooks_waiting=waiting,
                actions_failed=actions.get(shop.pk, {}),
                streams=streams,
            )
        )
    return result


def shop_for_admin(user: AnyUser, shop_account_id: int) -> ShopAccount:
    """A shop account an admin may change (the disconnect page): Forbidden for anyone but an
    admin, whatever the id; NotFound outside their organisation."""
    member = admin_member(user)
    try:
        return ShopAccount.objects.get(organisation_id=member.organisation_id, pk=shop_account_id)
    except ShopAccount.DoesNotExist:
        raise NotFound("Shop account not found.") from None
