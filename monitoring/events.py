"""monitoring's event kinds (docs/api.md, "Websocket", documents each with the same example;
tests hold the two equal). Imported by ``MonitoringConfig.ready()`` so they are registered
before anything publishes."""

from __future__ import annotations

from typing import TypedDict

from scrm.events import Audience, event_kind_register


# --- sla.alert -------------------------------------------------------------------------------
class SlaAlertPayload(TypedDict):
    """One SLA alert in one person's bell: ids, kinds and times only (no buyer data)."""

    id: int  # the alert's
    kind: str  # "warning" | "breach" | "digest" | "followup" | "trend"
    shop_account_id: int | None  # null: a follow-up made outside any shop
    subject: str | None  # "conversation" | "case" | "customer" (a follow-up); null: a digest
    subject_id: int | None
    follow_up_id: int | None  # a follow-up reminder's follow-up
    deadline_kind: str | None  # first_reply, next_reply, after_sales, same_day
    due_at: str | None
    threshold_minutes: int  # minutes before due_at (0: the breach)
    escalated: bool  # the shop's supervisors were told too
    assignee_id: int | None  # whom the subject was assigned to (null: the shop's agents)
    digest_date: str | None  # the shop-local day of a same-day digest
    open_count: int | None  # a digest's count of requests still open
    created_at: str


SLA_ALERT_EXAMPLE: SlaAlertPayload = {
    "id": 901,
    "kind": "warning",
    "shop_account_id": 2,
    "subject": "conversation",
    "subject_id": 42,
    "follow_up_id": None,
    "deadline_kind": "first_reply",
    "due_at": "2026-11-27T23:53:48+00:00",
    "threshold_minutes": 60,
    "escalated": False,
    "assignee_id": 5,
    "digest_date": None,
    "open_count": None,
    "created_at": "2026-11-27T22:53:50+00:00",
}

SLA_ALERT = event_kind_register(
    name="sla.alert",
    description=(
        "an SLA alert for you (a warning, a breach, the same-day digest or a follow-up due)"
    ),
    schema=SlaAlertPayload,
    example=SLA_ALERT_EXAMPLE,
    audience=Audience.USER,
)


# --- sla.deadline ----------------------------------------------------------------------------
class SlaDeadlineInfo(TypedDict):
    """A subject's open deadline, as queue rows, conversations and cases carry it."""

    kind: str  # first_reply, next_reply, after_sales, same_day
    due_at: str
    due_local: str  # due_at in the shop's time zone
    time_zone: str  # the shop's
    warn_at: str | None  # the first warning threshold (null: the policy has no warnings)
    state: str  # "ok" | "warning" | "breached", when published


class SlaDeadlinePayload(TypedDict):
    """A conversation's or case's open deadline changed: its earliest-due one, or null."""

    subject: str  # "conversation" | "case"
    id: int
    shop_account_id: int
    deadline: SlaDeadlineInfo | None


SLA_DEADLINE_EXAMPLE: SlaDeadlinePayload = {
    "subject": "conversation",
    "id": 42,
    "shop_account_id": 2,
    "deadline": {
        "kind": "first_reply",
        "due_at": "2026-11-27T23:53:48+00:00",
        "due_local": "2026-11-27T15:53:48-08:00",
        "time_zone": "America/Los_Angeles",
        "warn_at": "2026-11-27T19:53:48+00:00",
        "state": "ok",
    },
}

SLA_DEADLINE = event_kind_register(
    name="sla.deadline",
    description="a conversation's or case's SLA deadline opened, closed or moved",
    schema=SlaDeadlinePayload,
    example=SLA_DEADLINE_EXAMPLE,
    audience=Audience.SHOP,
)


# --- violation.flagged -----------------------------------------------------------------------
class ViolationFlaggedPayload(TypedDict):
    """A send matched the sensitive-word monitor: ids and enumerated values only (never the
    text: supervisors read it, decrypted, on the review page or through the API)."""

    id: int  # the violation's
    shop_account_id: int | None
    conversation_id: int | None  # null: a quick reply saved, or a bulk send
    actor_id: int | None
    actor_name: str
    category: str  # the most severe match's (monitoring.models.WordCategory)
    action: str  # "block" | "mask" | "flag": what the monitor did to the send
    source: str  # reply, case_decision, quick_reply, bulk, automatic
    created_at: str


VIOLATION_FLAGGED_EXAMPLE: ViolationFlaggedPayload = {
    "id": 77,
    "shop_account_id": 2,
    "conversation_id": 42,
    "actor_id": 5,
    "actor_name": "Li Na",
    "category": "off_platform",
    "action": "block",
    "source": "reply",
    "created_at": "2026-12-03T09:14:05+00:00",
}

VIOLATION_FLAGGED = event_kind_register(
    name="violation.flagged",
    description="a send matched the sensitive-word monitor (a violation to review)",
    schema=ViolationFlaggedPayload,
    example=VIOLATION_FLAGGED_EXAMPLE,
    audience=Audience.SUPERVISORS,
)
