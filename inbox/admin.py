from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from inbox.models import (
    AfterSalesCase,
    Member,
    Organisation,
    OutboxAction,
    ShopAccount,
    ShopMembership,
    SyncCursor,
    WebhookEvent,
)
from inbox.onboarding import OnboardingError, shop_accounts_onboard, shop_accounts_rediscover
from inbox.platforms.base import PlatformError, get_adapter
from inbox.services.access import access_changed_notify, member_role_change, user_deactivate
from monitoring.admin import _ReadOnlyAdmin


class ConnectTikTokShopForm(forms.Form):
    organisation = forms.ModelChoiceField(Organisation.objects.all(), label=_("Organisation"))
    app_key = forms.CharField(label=_("App key"), max_length=100)
    app_secret = forms.CharField(
        label=_("App secret"), max_length=200, widget=forms.PasswordInput(render_value=False)
    )
    auth_code = forms.CharField(
        label=_("Authorisation code"),
        max_length=500,
        help_text=_("The code TikTok Shop gives the seller's consent redirect (single use)."),
    )


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "require_two_factor", "created_at"]
    prepopulated_fields = {"slug": ["name"]}

    def save_model(self, request: Any, obj: Organisation, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and "require_two_factor" in form.changed_data:
            # Open sockets of sessions that skipped the second factor close at once.
            _notify_after(
                set(Member.objects.filter(organisation=obj).values_list("user_id", flat=True))
            )


# --- access changes made here end at once (inbox.services.access) ---------------------------
def _notify_after(users: set[Any]) -> None:
    access_changed_notify(user_ids={int(u) for u in users if u})


class _AccessRowAdmin(admin.ModelAdmin):
    """Admin of rows that give a person access (members, shop memberships): deleting them ends
    that access on open sockets at once."""

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        super().delete_model(request, obj)
        _notify_after({obj.user_id})

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        users = set(queryset.values_list("user_id", flat=True))
        super().delete_queryset(request, queryset)
        _notify_after(users)


@admin.register(Member)
class MemberAdmin(_AccessRowAdmin):
    list_display = ["user", "organisation", "role", "time_zone"]
    list_filter = ["organisation", "role"]
    search_fields = ["user__username", "display_name"]

    def save_model(self, request: HttpRequest, obj: Member, form: Any, change: bool) -> None:
        # A role change goes through the service (audit, open sockets re-scoped at once).
        new_role = obj.role
        role_changed = change and "role" in form.changed_data
        if role_changed:
            obj.role = form.initial["role"]
        super().save_model(request, obj, form, change)
        if role_changed:
            member_role_change(
                actor=request.user, user_id=obj.user_id, role=new_role, as_operator=True
            )
            obj.role = new_role
        # Another organisation or another user: both people's sockets re-check.
        _notify_after({obj.user_id, form.initial.get("user")})


User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class ScrmUserAdmin(UserAdmin):
    """Django's user admin, with deactivation, deletion and password changes ending the
    person's open sockets at once."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        deactivating = change and "is_active" in form.changed_data and not obj.is_active
        if deactivating:
            obj.is_active = True  # the service turns it off, with its audit event
        super().save_model(request, obj, form, change)
        if deactivating:
            user_deactivate(actor=request.user, user_id=obj.pk, as_operator=True)
            obj.is_active = False
        elif change:
            _notify_after({obj.pk})

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        user_id = obj.pk
        super().delete_model(request, obj)
        _notify_after({user_id})

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        users = set(queryset.values_list("pk", flat=True))
        super().delete_queryset(request, queryset)
        _notify_after(users)

    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            # A new password invalidates the person's sessions; their sockets close now.
            _notify_after({id})
        return response


class ShopMembershipInline(admin.TabularInline):
    model = ShopMembership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(ShopAccount)
class ShopAccountAdmin(admin.ModelAdmin):
    list_display = ["name", "platform", "region", "time_zone", "organisation", "is_active"]
    list_filter = ["platform", "region", "organisation", "is_active"]
    search_fields = ["name", "platform_shop_id"]
    exclude = ["credentials"]  # encrypted; set by onboarding, never shown
    inlines = [ShopMembershipInline]
    actions = ["rediscover"]
    change_list_template = "admin/inbox/shopaccount/change_list.html"

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        # Memberships added, changed or removed inline: those people's sockets re-scope now.
        users = {f.initial.get("user") for f in formset.forms} | {
            f.instance.user_id for f in formset.forms if f.instance.user_id
        }
        super().save_formset(request, form, formset, change)
        if formset.model is ShopMembership:
            _notify_after(users)

    def get_urls(self) -> list[Any]:
        custom = [
            path(
                "connect-tiktok/",
                self.admin_site.admin_view(self.connect_tiktok),
                name="inbox_shopaccount_connect_tiktok",
            )
        ]
        return custom + super().get_urls()

    def connect_tiktok(self, request: HttpRequest) -> HttpResponse:
        """Onboard the shops of a TikTok Shop authorisation (the same service as the command)."""
        if not self.has_add_permission(request):
            return HttpResponse(status=403)
        form = ConnectTikTokShopForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                shops = shop_accounts_onboard(
                    organisation=data["organisation"],
                    adapter=get_adapter("tiktok_shop"),
                    app_key=data["app_key"],
                    app_secret=data["app_secret"],
                    auth_code=data["auth_code"],
                    actor=request.user,
                )
            except (PlatformError, OnboardingError, ValueError) as exc:
                form.add_error(None, str(exc))
            else:
                names = ", ".join(shop.name for shop in shops)
                self.message_user(
                    request, _("Connected: %(names)s") % {"names": names}, messages.SUCCESS
                )
                return HttpResponseRedirect(reverse("admin:inbox_shopaccount_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "title": _("Connect TikTok Shop"),
        }
        return TemplateResponse(request, "admin/inbox/shopaccount/connect.html", context)

    @admin.action(description=_("Refresh from the platform (names, regions, new shops)"))
    def rediscover(self, request: HttpRequest, queryset: Any) -> None:
        done, failed = 0, 0
        for shop in queryset:
            try:
                shop_accounts_rediscover(shop_account=shop)
                done += 1
            except (PlatformError, OnboardingError, ValueError):
                failed += 1
        if done:
            self.message_user(request, _("Refreshed %(n)d shop(s).") % {"n": done})
        if failed:
            self.message_user(
                request,
                _("%(n)d shop(s) could not be refreshed: re-authorise them.") % {"n": failed},
                messages.WARNING,
            )


@admin.register(ShopMembership)
class ShopMembershipAdmin(_AccessRowAdmin):
    list_display = ["user", "shop_account", "created_at"]
    list_filter = ["shop_account"]
    autocomplete_fields = ["user"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        _notify_after({obj.user_id, form.initial.get("user")})


# --- ingestion bookkeeping, for operators: read-only --------------------------------------------
@admin.register(WebhookEvent)
class WebhookEventAdmin(_ReadOnlyAdmin):
    """Stored webhooks, found by the platform id they are about (the indexed id columns; the
    body, which may carry message text, is never shown)."""

    list_display = ["received_at", "shop_account", "kind", "type_code", "status", "error"]
    list_filter = ["status", "kind", "platform"]
    list_select_related = ["shop_account"]
    search_fields = [
        "conversation_platform_id__exact",
        "return_platform_id__exact",
        "cancellation_platform_id__exact",
        "order_platform_id__exact",
    ]
    show_full_result_count = False  # no COUNT(*) over every webhook ever received
    exclude = ["body"]


@admin.register(SyncCursor)
class SyncCursorAdmin(_ReadOnlyAdmin):
    """Where each stream of each shop's backfill has got to."""

    list_display = ["shop_account", "stream", "high_water", "last_run_at", "last_error"]
    list_filter = ["stream"]
    list_select_related = ["shop_account"]


@admin.register(AfterSalesCase)
class AfterSalesCaseAdmin(_ReadOnlyAdmin):
    """Returns and cancellations as last read from the platform, found by their platform id
    or order id. Read-only: the platform is their truth; the buyer's words are not shown."""

    list_display = [
        "platform_updated_at",
        "shop_account",
        "family",
        "platform_case_id",
        "kind",
        "platform_status",
        "stage",
        "seller_deadline",
    ]
    list_filter = ["stage", "kind", "family"]
    list_select_related = ["shop_account"]
    search_fields = ["platform_case_id__exact", "order_platform_id__exact"]
    show_full_result_count = False
    exclude = ["buyer_reason"]


@admin.register(OutboxAction)
class OutboxActionAdmin(_ReadOnlyAdmin):
    """What the product asked a platform or an outside endpoint to do (replies, marking read,
    the kinds to come), where each stands and why one failed. Read-only: a failed reply is
    retried from the inbox, by the agent who sees it; its parameters are not shown (a reply's
    are ids, later kinds' may carry text)."""

    list_display = [
        "created_at",
        "kind",
        "shop_account",
        "state",
        "next_attempt_at",
        "result",
        "failure_reason",
    ]
    list_filter = ["state", "kind"]
    list_select_related = ["shop_account"]
    search_fields = ["result__exact", "subject_id__exact"]
    show_full_result_count = False
    exclude = ["params"]
