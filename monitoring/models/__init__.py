"""monitoring's records: the audit and security logs (``audit``) and the SLA tracker
(``sla``: policies, calendars, deadlines, alerts, channels)."""

from monitoring.models.audit import AuditEvent, SecurityEvent
from monitoring.models.sla import (
    DEFAULT_WARNING_MINUTES,
    AlertChannel,
    AlertChannelKind,
    AlertDelivery,
    AlertKind,
    AlertReceipt,
    BusinessCalendar,
    Deadline,
    DeadlineKind,
    DeadlineState,
    Holiday,
    HolidaySource,
    SlaAlert,
    SlaPolicy,
)

__all__ = [
    "DEFAULT_WARNING_MINUTES",
    "AlertChannel",
    "AlertChannelKind",
    "AlertDelivery",
    "AlertKind",
    "AlertReceipt",
    "AuditEvent",
    "BusinessCalendar",
    "Deadline",
    "DeadlineKind",
    "DeadlineState",
    "Holiday",
    "HolidaySource",
    "SecurityEvent",
    "SlaAlert",
    "SlaPolicy",
]
