from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from monitoring.models import AuditEvent, SecurityEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the audit log is append-only."""

    list_display = ["created_at", "organisation", "actor", "action", "target_type", "target_id"]
    list_filter = ["organisation", "action"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SecurityEvent)
class SecurityEventAdmin(admin.ModelAdmin):
    """The operators' security log, read-only. A name tried is shown as its keyed hash only:
    ``scrm.signin.name_digest("name")`` in ``manage.py shell`` finds a suspected name's rows."""

    list_display = ["created_at", "kind", "ip_address", "user", "name_digest"]
    list_filter = ["kind"]
    search_fields = ["name_digest", "ip_address"]
    readonly_fields = ["created_at", "kind", "ip_address", "user", "name_digest", "data"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
