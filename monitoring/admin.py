from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from monitoring.models import AlertChannel, AuditEvent, Deadline, SecurityEvent, SlaAlert


class _ReadOnlyAdmin(admin.ModelAdmin):
    """Logs nobody edits: not even an operator adds, changes or deletes a row here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(_ReadOnlyAdmin):
    """Read-only: the audit log is append-only."""

    list_display = ["created_at", "organisation", "actor", "action", "target_type", "target_id"]
    list_filter = ["organisation", "action"]


@admin.register(SecurityEvent)
class SecurityEventAdmin(_ReadOnlyAdmin):
    """The operators' security log, read-only. A name tried is shown as its keyed hash only:
    ``scrm.signin.name_digest("name")`` in ``manage.py shell`` finds a suspected name's rows."""

    list_display = ["created_at", "kind", "ip_address", "user", "name_digest"]
    list_filter = ["kind"]
    search_fields = ["name_digest", "ip_address"]
    readonly_fields = ["created_at", "kind", "ip_address", "user", "name_digest", "data"]


# The SLA tracker's records, for operators who look into an alert: read-only (supervisors manage
# policies, calendars and channels on the product's own pages, /sla/).
@admin.register(Deadline)
class DeadlineAdmin(_ReadOnlyAdmin):
    list_display = ["id", "shop_account", "kind", "state", "started_at", "due_at", "next_alert_at"]
    list_filter = ["kind", "state"]
    raw_id_fields = ["conversation", "case"]


@admin.register(SlaAlert)
class SlaAlertAdmin(_ReadOnlyAdmin):
    list_display = [
        "created_at",
        "shop_account",
        "kind",
        "threshold_minutes",
        "deadline",
        "escalated",
    ]
    list_filter = ["kind", "escalated"]
    raw_id_fields = ["deadline"]


@admin.register(AlertChannel)
class AlertChannelAdmin(_ReadOnlyAdmin):
    """Without its URL and secret (they carry the bot's credentials)."""

    list_display = [
        "name",
        "organisation",
        "kind",
        "is_active",
        "consecutive_failures",
        "last_failure_at",
    ]
    list_filter = ["kind", "is_active"]
    exclude = ["target", "secret"]
