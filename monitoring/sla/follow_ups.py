"""Follow-up reminders through the SLA alert channels: a follow-up that came due (what was
promised to a buyer, ``inbox.FollowUp``) becomes one ``SlaAlert`` of kind ``followup``, told as
every SLA alert is (``alerts.alerts_tell``): a bell receipt and a live ``sla.alert`` to whom it
concerns, then the organisation's channels that take follow-ups.

Whom: the follow-up's owner while still an active person of the organisation who works on its
shop; otherwise (deactivated, moved off the shop, or nobody) the organisation's supervisors and
admins, marked ``escalated``, so a promise is never left with nobody told. The alert holds ids
only (the follow-up, its customer's id, the owner); never what was promised or who the buyer is.

``inbox.services.profiles.reminders`` calls :func:`follow_up_alerts_record` once per follow-up
it has just marked reminded (a conditional UPDATE), in the same transaction: a rolled-back or
repeated sweep tells nobody twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from monitoring.models.sla import AlertKind, SlaAlert
from monitoring.sla.alerts import People, Telling, alerts_tell


@dataclass(frozen=True)
class FollowUpDue:
    """A follow-up that came due, as the alert needs it (ids and its time only)."""

    follow_up_id: int
    organisation_id: int
    shop_account_id: int | None
    customer_id: int
    owner_id: int | None  # None: nobody owns it any more
    owner_may_be_told: bool  # active, of the organisation, working on the shop
    due_at: datetime


def follow_up_alerts_record(dues: list[FollowUpDue], *, now: datetime) -> list[SlaAlert]:
    """Record one alert per due follow-up and tell its owner (else the supervisors); the
    alerts. Keeps: call inside the transaction that marked them reminded; ids only."""
    people = People()
    people.load(shop_account_ids=[], organisation_ids={d.organisation_id for d in dues})
    tellings = []
    alerts = []
    for due in dues:
        told_owner = due.owner_id is not None and due.owner_may_be_told
        users: tuple[int, ...] = (
            (due.owner_id,)
            if told_owner and due.owner_id
            else people.supervisors(due.organisation_id)
        )
        alert = SlaAlert.objects.create(
            organisation_id=due.organisation_id,
            shop_account_id=due.shop_account_id,
            follow_up_id=due.follow_up_id,
            kind=AlertKind.FOLLOW_UP.value,
            assignee_id=due.owner_id if told_owner else None,
            escalated=not told_owner,
            data={"customer_id": due.customer_id, "due_at": due.due_at.isoformat()},
            created_at=now,
        )
        alerts.append(alert)
        tellings.append(Telling(alert, users, None))
    alerts_tell(tellings, now=now, people=people)
    return alerts
