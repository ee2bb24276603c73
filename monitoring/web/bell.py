"""The bell in the inbox's top bar: one's SLA alerts (``AlertReceipt``), the unread count, mark
one or all read. ``static/monitoring/bell.js`` reads the list fragment when the page opens and
again on each live ``sla.alert`` event; without scripts the forms post and come back.

The reads and the mark-read are ``monitoring.sla.bell``'s (the person's own receipts, only of
shops they still work on), as the bell API of ``/api/v1/sla/alerts/`` uses them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from inbox.selectors.accounts import AnyUser, member_for
from monitoring.models.sla import AlertKind, AlertReceipt, DeadlineKind
from monitoring.sla.bell import (
    bell_mark_all_read,
    bell_mark_read,
    bell_receipts,
    bell_unread_count,
)
from scrm.pages import signed_in_page
from scrm.params import int_param

BELL_SIZE = 20

page = signed_in_page("GET", never_cached=True)
form = signed_in_page("POST", never_cached=True)


@dataclass(frozen=True)
class BellItem:
    """One alert in one person's bell: ids, kinds, times and the shop (no buyer data)."""

    alert_id: int
    kind: str  # warning | breach | digest | followup
    deadline_kind: str
    deadline_label: str
    threshold_minutes: int
    escalated: bool
    shop_name: str  # "" for a follow-up made outside any shop
    shop_time_zone: str  # the shop's, else the viewer's
    due_at: datetime | None
    open_count: int | None
    digest_date: object
    url: str
    created_at: datetime
    unread: bool
    customer_id: int | None = None  # a follow-up reminder's customer (an id, never a name)


def _url(receipt: AlertReceipt, sees_all_shops: bool) -> str:
    deadline = receipt.alert.deadline
    if receipt.alert.kind == AlertKind.FOLLOW_UP and receipt.alert.data.get("customer_id"):
        return reverse("customers:profile", args=[int(receipt.alert.data["customer_id"])])
    if receipt.alert.kind == AlertKind.TREND and receipt.alert.shop_account_id and sees_all_shops:
        path = reverse("monitor:problems-report", args=[receipt.alert.shop_account_id])
        return f"{path}?week={receipt.alert.data.get('started_on', '')}"
    if deadline is not None and deadline.conversation_id:
        return reverse("inbox:conversation", args=[deadline.conversation_id])
    if deadline is not None and deadline.case_id:
        return reverse("panel:case", args=[deadline.case_id])
    return reverse("sla:risk") if sees_all_shops else ""


def bell_items(user: AnyUser, *, limit: int = BELL_SIZE) -> tuple[list[BellItem], int]:
    """One's latest alerts, newest first, and how many are unread (a fixed number of
    queries)."""
    member = member_for(user)
    sees_all = member.sees_all_shops
    receipts = list(bell_receipts(user).select_related("alert__shop_account")[:limit])
    unread = bell_unread_count(user)
    items = []
    for r in receipts:
        alert, deadline = r.alert, r.alert.deadline
        kind = deadline.kind if deadline is not None else ""
        shop = alert.shop_account
        due_at = deadline.due_at if deadline is not None else None
        if alert.kind == AlertKind.FOLLOW_UP and alert.data.get("due_at"):
            due_at = datetime.fromisoformat(str(alert.data["due_at"]))
        items.append(
            BellItem(
                alert_id=alert.id,
                kind=alert.kind,
                deadline_kind=kind,
                deadline_label=str(DeadlineKind(kind).label) if kind in DeadlineKind.values else "",
                threshold_minutes=alert.threshold_minutes,
                escalated=alert.escalated,
                shop_name=shop.name if shop is not None else "",
                shop_time_zone=shop.time_zone if shop is not None else member.time_zone,
                due_at=due_at,
                open_count=alert.data.get("open_count") if alert.kind == AlertKind.DIGEST else None,
                digest_date=alert.digest_date,
                url=_url(r, sees_all),
                created_at=r.created_at,
                unread=r.read_at is None,
                customer_id=alert.data.get("customer_id")
                if alert.kind == AlertKind.FOLLOW_UP
                else None,
            )
        )
    return items, unread


def _list(request: HttpRequest) -> HttpResponse:
    items, unread = bell_items(request.user)
    member = member_for(request.user)
    context = {
        "items": items,
        "unread": unread,
        "viewer_tz": member.time_zone,
        "now": timezone.now(),
    }
    response = render(request, "monitoring/_bell_list.html", context)
    response["X-SCRM-Unread"] = str(unread)
    return response


@page
def bell_list(request: HttpRequest) -> HttpResponse:
    """The bell's list (a fragment): the latest alerts, the unread count."""
    return _list(request)


@form
def bell_read(request: HttpRequest) -> HttpResponse:
    """Mark one alert (``alert``; someone else's is the 404 page) or all (``all``) read; the
    list again for the bell's script, else back to the inbox."""
    alert_id = int_param(request.POST.get("alert"), minimum=1)
    if alert_id is not None:
        bell_mark_read(user=request.user, alert_id=alert_id)
    elif request.POST.get("all"):
        bell_mark_all_read(user=request.user)
    if request.headers.get("X-SCRM-Fragment") == "1":
        return _list(request)
    return redirect("inbox:workspace")
