"""The bell: one person's SLA alerts and follow-up reminders (their receipts), newest first,
the unread count, and marking them read. Everything is the acting user's own: a receipt of
someone else, or of a shop the person no longer works on, is not found (404), never a 403."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from inbox.selectors.accounts import AnyUser, member_for, shop_account_list
from monitoring.models.sla import AlertReceipt
from scrm.api import NotFound


def bell_receipts(user: AnyUser, *, unread: bool = False) -> QuerySet[AlertReceipt]:
    """The user's alerts (receipts with their alert and its deadline), newest first
    (``-id``, the cursor's order); ``unread`` only those not read yet.

    Keeps: only the user's own receipts, of shops they still work on (a person moved off a
    shop no longer sees its alerts); a fixed number of queries per page.
    """
    member = member_for(user)
    shops = Q(alert__shop_account_id__in=shop_account_list(user).order_by().values("id"))
    # A follow-up made outside any shop: the organisation's (its receipts are its owner's or
    # its supervisors').
    no_shop = Q(alert__shop_account__isnull=True, alert__organisation_id=member.organisation_id)
    qs = AlertReceipt.objects.filter(shops | no_shop, user_id=member.user_id).select_related(
        "alert", "alert__deadline"
    )
    if unread:
        qs = qs.filter(read_at__isnull=True)
    return qs.order_by("-id")


def bell_unread_count(user: AnyUser) -> int:
    """How many of the user's alerts are unread (what the bell's badge shows)."""
    return bell_receipts(user, unread=True).count()


@transaction.atomic
def bell_mark_read(*, user: AnyUser, alert_id: int, now: datetime | None = None) -> AlertReceipt:
    """Mark one of the user's alerts read (already read: kept as it was); the receipt.

    Keeps: another person's alert, or one of a shop the user no longer works on, is
    ``NotFound``; only ``read_at`` changes (nothing to audit: a person's own bell).
    """
    receipt = bell_receipts(user).select_for_update(of=("self",)).filter(alert_id=alert_id).first()
    if receipt is None:
        raise NotFound("No such alert.")
    if receipt.read_at is None:
        receipt.read_at = now or timezone.now()
        receipt.save(update_fields=["read_at"])
    return receipt


@transaction.atomic
def bell_mark_all_read(*, user: AnyUser, now: datetime | None = None) -> int:
    """Mark every unread alert of the user read; how many were."""
    ids = list(bell_receipts(user, unread=True).values_list("id", flat=True))
    return AlertReceipt.objects.filter(id__in=ids, read_at__isnull=True).update(
        read_at=now or timezone.now()
    )
