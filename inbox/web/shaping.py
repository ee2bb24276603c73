"""Turn queue parameters and timeline rows into what the templates show (no access rules here:
the selectors decide what the user may see)."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from inbox.models import Conversation, Message, Note
from inbox.selectors import QueueFilters
from inbox.selectors.queue_keys import CONVERSATION, position_of, sort_due, sort_key
from scrm.params import int_param

PAGE_SIZE = 50
LONG_WAIT = timedelta(hours=12)
TIMELINE_LIMIT = 100
# TikTok's limit (the adapter enforces it too; the composer warns before sending).
PLATFORM_TEXT_LIMITS = {"tiktok_shop": 2000}

VIEWS = {
    "all": _("All my shops"),
    "mine": _("Mine"),
    "unassigned": _("Unassigned"),
    "waiting": _("Waiting > 12 h"),
    "resolved": _("Resolved"),
}

# What an empty view says: each view is empty of something different ("Nothing waiting here"
# under Resolved read as if resolved conversations were waiting).
EMPTY_TEXTS = {
    "all": _("Nothing waiting here. Well done."),
    "mine": _("No conversations are assigned to you."),
    "unassigned": _("Every conversation has someone on it."),
    "waiting": _("Nobody has waited longer than 12 hours."),
    "resolved": _("No resolved conversations."),
}


# The queue's orders a person picks (the Resolved view is always the newest first).
ORDERS = {
    "waiting": _("Longest waiting first"),
    "due": _("Due soonest first"),
}

# What the queue lists: everything, conversations only, or after-sales cases only.
KINDS = {
    "all": _("Chats and after-sales"),
    "conversations": _("Chats only"),
    "cases": _("After-sales only"),
}


@dataclass(frozen=True)
class QueueParams:
    view: str = "all"
    shop: int | None = None
    q: str = ""
    kind: str = "all"
    cursor: str = ""  # where the page goes on (selectors.queue cursors); "" = the first page
    order: str = "waiting"  # ORDERS: the sort picked
    due: str = ""  # "today": only rows whose open SLA deadline falls before the end of today
    due_before: datetime | None = None  # that end, in the viewer's time zone

    @classmethod
    def from_request(cls, request: HttpRequest) -> QueueParams:
        # Anything unusable is ignored, never a 500 ("²".isdigit() is true, int("²") fails).
        view = request.GET.get("view", "all")
        kind = request.GET.get("kind", "all")
        order = request.GET.get("sort", "waiting")
        due = "today" if request.GET.get("due") == "today" else ""
        due_before = None
        if due:
            from inbox.selectors.deadlines import end_of_viewer_day

            due_before = end_of_viewer_day(request.user)
        return cls(
            order=order if order in ORDERS else "waiting",
            due=due,
            due_before=due_before,
            view=view if view in VIEWS else "all",
            shop=int_param(request.GET.get("shop"), minimum=1),
            q=request.GET.get("q", "").strip()[:100],
            kind=kind if kind in KINDS else "all",
            cursor=request.GET.get("cursor", "")[:100],
        )

    @property
    def sort(self) -> str:
        return self.filters().sort

    @property
    def empty_text(self) -> str:
        if self.due:
            return str(_("Nothing is due today."))
        if self.kind == "cases":
            return str(_("No after-sales request needs a decision."))
        return str(EMPTY_TEXTS[self.view])

    def filters(self) -> QueueFilters:
        kwargs: dict[str, Any] = {"sort": self.order, "due_before": self.due_before}
        if self.shop is not None:
            kwargs["shop_account_ids"] = (self.shop,)
        if self.view == "mine":
            kwargs["assignee"] = "me"
        elif self.view == "unassigned":
            kwargs["assignee"] = "unassigned"
        elif self.view == "waiting":
            kwargs["waiting_longer_than"] = LONG_WAIT
        elif self.view == "resolved":
            kwargs.update(statuses=("resolved",), sort="newest")
        return QueueFilters(search=self.q, **kwargs)

    def query(self, **override: Any) -> str:
        values = {"view": self.view, "shop": self.shop, "q": self.q, "kind": self.kind}
        values.update(sort=None if self.order == "waiting" else self.order, due=self.due or None)
        values["cursor"] = None
        values.update(override)
        return urlencode({k: v for k, v in values.items() if v not in (None, "", "all")})


_KEY_OFFSET = 10**20


def sort_string(sort: str, position: tuple[int, ...]) -> str:
    """A queue row's place (selectors.queue_keys position) as a string whose plain ascending
    order is the queue's order for ``sort``: the page moves a row that an event changed to
    where the server would list it, conversations and cases alike."""
    return ".".join(f"{k + _KEY_OFFSET:021d}" for k in sort_key(sort, position))


def queue_sort_key(conversation: Conversation, sort: str) -> str:
    """A conversation row's ``sort_string``."""
    due = sort_due(sort, CONVERSATION, conversation)
    return sort_string(sort, position_of(sort, CONVERSATION, conversation, due))


@dataclass
class TimelineItem:
    kind: str  # "message" | "note"
    at: datetime
    message: Message | None = None
    note: Note | None = None

    @property
    def card(self) -> str:
        """How a message is drawn: text, image, order, product, return, or system."""
        m = self.message
        if m is None:
            return "note"
        content = m.content if isinstance(m.content, dict) else {}
        if m.type == "IMAGE" and content.get("url"):
            return "image"
        if "return_id" in content or "RETURN" in m.type or "REFUND" in m.type:
            return "return"
        if "order_id" in content or m.type == "ORDER_CARD":
            return "order"
        if "product_id" in content or m.type == "PRODUCT_CARD":
            return "product"
        if m.text or m.type == "TEXT":
            return "text"
        return "system"


def timeline(messages: list[Message], notes: list[Note]) -> list[TimelineItem]:
    items = [TimelineItem("message", m.sent_at, message=m) for m in messages]
    if messages:
        first = messages[0].sent_at
        notes = [n for n in notes if n.created_at >= first]
    items += [TimelineItem("note", n.created_at, note=n) for n in notes]
    items.sort(key=lambda i: i.at)
    return items


# Snoozing: "tomorrow" and "next week" wake at this hour of the viewer's own day; next week is
# next Monday (the start of the working week, as in most mail clients).
SNOOZE_WAKE_AT = time(9, 0)


@dataclass(frozen=True)
class SnoozePreset:
    key: str  # "hour" | "tomorrow" | "next_week"
    label: str
    until: datetime  # aware, in the viewer's time zone


def viewer_zone(name: str) -> tzinfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def _at_wake_time(day: Any, zone: tzinfo) -> datetime:
    return datetime.combine(day, SNOOZE_WAKE_AT, tzinfo=zone)


def snooze_presets(now: datetime, zone: tzinfo) -> list[SnoozePreset]:
    """The header's snooze choices, in the viewer's time zone (Member.time_zone): in one hour,
    tomorrow at 9:00, next Monday at 9:00."""
    local = now.astimezone(zone)
    today = local.date()
    monday = today + timedelta(days=7 - today.weekday())
    return [
        SnoozePreset("hour", str(_("In 1 hour")), local + timedelta(hours=1)),
        SnoozePreset("tomorrow", str(_("Tomorrow")), _at_wake_time(today + timedelta(1), zone)),
        SnoozePreset("next_week", str(_("Next week")), _at_wake_time(monday, zone)),
    ]


def waiting_for(conversation: Conversation) -> timedelta | None:
    if conversation.waiting_since is None:
        return None
    return timezone.now() - conversation.waiting_since


def text_limit(conversation: Conversation) -> int:
    return PLATFORM_TEXT_LIMITS.get(conversation.shop_account.platform, 2000)


def js_strings() -> dict[str, str]:
    """Every string the page's JavaScript shows, translated on the server."""
    from django.utils.translation import gettext

    return {
        "now": gettext("now"),
        "min": gettext("%(n)s min"),
        "h": gettext("%(n)s h"),
        "d": gettext("%(n)s d"),
        "live": gettext("Live"),
        "connecting": gettext("Connecting…"),
        "reconnecting": gettext("Reconnecting in %(n)s s…"),
        "offline": gettext("Offline: changes will appear when the connection is back."),
        "sending": gettext("Sending…"),
        "sent": gettext("Sent"),
        "failed": gettext("Failed"),
        "send_failed": gettext("Not sent: %(reason)s"),
        "network_error": gettext("Network problem: nothing was lost, press Enter to try again."),
        "too_long": gettext(
            "This is %(n)s characters; the platform accepts at most %(max)s. Shorten it to send."
        ),
        "empty": gettext("Write something first."),
        "note_saved": gettext("Note added."),
        "resolved": gettext("Conversation resolved."),
        "reopened": gettext("Conversation reopened."),
        "assigned_me": gettext("Assigned to you."),
        "snoozed": gettext("Conversation snoozed."),
        "snooze_future": gettext("Pick a time in the future."),
        "tag_added": gettext("Tag %(tag)s added."),
        "tag_removed": gettext("Tag %(tag)s removed."),
        "priority_set": gettext("%(priority)s."),
        "transferred": gettext("Transferred to %(name)s."),
        "unassigned": gettext("Nobody is assigned now."),
        "bulk_done": gettext("%(n)s conversations updated."),
        "bulk_none": gettext("Select conversations first."),
        "selected": gettext("%(n)s selected"),
        "no_conversation": gettext("Open a conversation first."),
        "qr_searching": gettext("Searching quick replies…"),
        "qr_none": gettext("No quick reply matches."),
        "qr_fill": gettext("Fill in before inserting"),
        "qr_insert": gettext("Insert"),
        "qr_cancel": gettext("Cancel"),
        "qr_inserted": gettext("Quick reply inserted."),
        "qr_error": gettext("The quick reply could not be rendered."),
        "new_message": gettext("New message from %(name)s"),
        "new_messages_title": gettext("New buyer message"),
        "notifications_on": gettext("Notifications are on."),
        "notifications_blocked": gettext("Notifications are blocked in this browser."),
        "error": gettext("Something went wrong. Try again."),
        "you": gettext("You"),
        "case_deciding": gettext("Deciding…"),
        "case_failed": gettext("Decision failed: %(reason)s"),
        "case_due_in": gettext("Due in %(time)s"),
        "case_overdue": gettext("Overdue %(time)s"),
    }
