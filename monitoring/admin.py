from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from monitoring.models import AuditEvent, SecurityEvent


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
