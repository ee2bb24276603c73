from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from inbox.models import Member, Organisation, ShopAccount, ShopMembership
from inbox.onboarding import OnboardingError, shop_accounts_onboard, shop_accounts_rediscover
from inbox.platforms.base import PlatformError, get_adapter


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
    list_display = ["name", "slug", "created_at"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = ["user", "organisation", "role", "time_zone"]
    list_filter = ["organisation", "role"]
    search_fields = ["user__username", "display_name"]


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
class ShopMembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "shop_account", "created_at"]
    list_filter = ["shop_account"]
    autocomplete_fields = ["user"]
