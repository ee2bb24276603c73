from django.contrib import admin
from django.db import transaction

from monitoring.services import audit_record
from templates_app import library
from templates_app.models import Material, QuickReply, QuickReplyUsage


class _LibraryAdmin(admin.ModelAdmin):
    """Edits here bypass the services: do what they do in the same transaction (Django's admin
    saves in one): mark the library changed, so the picker's in-memory copies re-sync at once
    rather than on their next timed scan, and write the audit event (``via: admin``; ids and
    the names of the changed fields only, never a text)."""

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        obj = form.instance
        library.changed(obj.organisation_id)
        before = form.initial.get("organisation")  # a reply moved: its old library changed too
        if before and before != obj.organisation_id:
            library.changed(before)
        _audit(request, obj, "updated" if change else "created", sorted(form.changed_data))

    def delete_model(self, request, obj):
        with transaction.atomic():
            _audit(request, obj, "deleted")
            super().delete_model(request, obj)
            library.changed(obj.organisation_id)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            organisations = set(queryset.values_list("organisation_id", flat=True))
            for obj in queryset:
                _audit(request, obj, "deleted")
            super().delete_queryset(request, queryset)
            for organisation_id in organisations:
                library.changed(organisation_id)


def _audit(request, obj, verb: str, fields: list[str] | None = None) -> None:
    name = "quick_reply" if isinstance(obj, QuickReply) else "material"
    data = {"id": obj.pk, "scope": obj.scope, "via": "admin"}
    if fields is not None:
        data["fields"] = fields
    audit_record(
        organisation_id=obj.organisation_id,
        actor=request.user,
        action=f"{name}.{verb}",
        target=obj,
        data=data,
    )


@admin.register(QuickReply)
class QuickReplyAdmin(_LibraryAdmin):
    list_display = ["shortcut", "title", "scope", "organisation", "usage_count", "is_archived"]
    list_filter = ["scope", "is_archived", "organisation"]
    search_fields = ["shortcut", "title"]
    raw_id_fields = ["owner", "created_by"]
    filter_horizontal = ["shop_accounts", "materials"]
    readonly_fields = ["usage_count", "created_at", "updated_at"]


@admin.register(Material)
class MaterialAdmin(_LibraryAdmin):
    list_display = ["name", "kind", "scope", "organisation", "size", "is_archived"]
    list_filter = ["kind", "scope", "is_archived"]
    search_fields = ["name", "sha256"]
    raw_id_fields = ["owner", "created_by"]
    readonly_fields = ["sha256", "blob", "size", "content_type", "created_at"]


@admin.register(QuickReplyUsage)
class QuickReplyUsageAdmin(admin.ModelAdmin):
    """Usage rows are records: read-only."""

    list_display = ["quick_reply", "user", "conversation", "language", "used_at"]
    raw_id_fields = ["quick_reply", "user", "conversation"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False
