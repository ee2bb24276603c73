from django.contrib import admin

from inbox.models import Member, Organisation, ShopAccount, ShopMembership


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


@admin.register(ShopMembership)
class ShopMembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "shop_account", "created_at"]
    list_filter = ["shop_account"]
    autocomplete_fields = ["user"]
