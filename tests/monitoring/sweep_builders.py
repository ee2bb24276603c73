"""Deadlines as the lifecycle stores them (the sweep's input), built directly for the sweep's
tests, and what the sweep left behind (alerts, receipts, ``sla.alert`` events)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from inbox.models import AfterSalesCase, Conversation, InboxEvent
from monitoring.models.sla import AlertReceipt, Deadline, SlaAlert

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # a deadline's start in these tests
WARNINGS = [240, 60]


def deadline_for(
    subject: Conversation | AfterSalesCase,
    *,
    due_at: datetime,
    kind: str | None = None,
    warnings: list[int] | None = None,
    next_alert_at: datetime | None = None,
    started_at: datetime = T0,
) -> Deadline:
    """An open deadline of ``subject``; ``next_alert_at`` the first warning not yet past at
    ``started_at`` (as the lifecycle sets it) unless given. Any deadline the lifecycle opened for
    the subject on its own is removed first: these tests feed the sweep themselves."""
    warnings = WARNINGS if warnings is None else warnings
    is_case = isinstance(subject, AfterSalesCase)
    kind = kind or ("after_sales" if is_case else "first_reply")
    lookup = {"case": subject} if is_case else {"conversation": subject}
    Deadline.objects.filter(**lookup).delete()
    if next_alert_at is None:
        upcoming = [due_at - timedelta(minutes=m) for m in warnings]
        next_alert_at = min([at for at in upcoming if at > started_at] + [due_at])
    return Deadline.objects.create(
        organisation_id=subject.organisation_id,
        shop_account_id=subject.shop_account_id,
        kind=kind,
        started_at=started_at,
        due_at=due_at,
        next_alert_at=next_alert_at,
        rule={"minutes": 1440, "business_hours": False, "warnings": warnings},
        **lookup,
    )


def alerts_of(deadline: Deadline) -> list[tuple[str, int]]:
    return list(
        SlaAlert.objects.filter(deadline=deadline)
        .order_by("id")
        .values_list("kind", "threshold_minutes")
    )


def told(deadline: Deadline, kind: str, threshold: int = 0) -> set[int]:
    """The users with a receipt for the deadline's alert of that kind and threshold."""
    return set(
        AlertReceipt.objects.filter(
            alert__deadline=deadline, alert__kind=kind, alert__threshold_minutes=threshold
        ).values_list("user_id", flat=True)
    )


def alert_events(since: int = 0) -> list[InboxEvent]:
    return list(InboxEvent.objects.filter(type="sla.alert", id__gt=since).order_by("id"))


def last_event_id() -> int:
    return InboxEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
