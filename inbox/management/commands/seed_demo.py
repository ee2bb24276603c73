"""Seed (idempotently) the demo organisation: three TikTok shops, a supervisor, three agents."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from inbox.demo import DEMO_SHOPS, demo_credentials
from inbox.models import AssignmentMode, Member, Organisation, Role, ShopAccount, ShopMembership

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - printed on purpose: demo logins only


# username, display name, role, shops (by index), time zone
DEMO_PEOPLE = [
    ("supervisor", "Mei (supervisor)", Role.SUPERVISOR, [], "Asia/Shanghai"),
    ("agent1", "Li Na", Role.AGENT, [0, 1], "Asia/Shanghai"),
    ("agent2", "Sam Taylor", Role.AGENT, [1, 2], "Europe/London"),
    ("agent3", "Aisyah", Role.AGENT, [2], "Asia/Kuala_Lumpur"),
]


class Command(BaseCommand):
    help = "Create or refresh the demo organisation, shops and logins (safe to run again)."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        org, _ = Organisation.objects.get_or_create(
            slug="demo", defaults={"name": "Demo Trading Co."}
        )
        shops = []
        for shop_id, name, region, tz in DEMO_SHOPS:
            shop, _ = ShopAccount.objects.update_or_create(
                platform="tiktok_shop",
                platform_shop_id=shop_id,
                defaults={
                    "organisation": org,
                    "name": name,
                    "region": region,
                    "time_zone": tz,
                    "credentials": demo_credentials(shop_id),
                    # one shop shows automatic assignment at work
                    "assignment_mode": (
                        AssignmentMode.ROUND_ROBIN if region == "GB" else AssignmentMode.MANUAL
                    ),
                },
            )
            shops.append(shop)
        User = get_user_model()
        for username, display, role, shop_idx, tz in DEMO_PEOPLE:
            user, created = User.objects.get_or_create(username=username)
            if created or not user.check_password(DEMO_PASSWORD):
                user.set_password(DEMO_PASSWORD)
                user.save()
            Member.objects.update_or_create(
                user=user,
                defaults={
                    "organisation": org,
                    "role": role,
                    "display_name": display,
                    "time_zone": tz,
                },
            )
            for i in shop_idx:
                ShopMembership.objects.get_or_create(user=user, shop_account=shops[i])
        admin, created = User.objects.get_or_create(
            username="admin", defaults={"is_staff": True, "is_superuser": True}
        )
        if created or not admin.check_password(DEMO_PASSWORD):
            admin.set_password(DEMO_PASSWORD)
            admin.is_staff = admin.is_superuser = True
            admin.save()
        Member.objects.update_or_create(
            user=admin, defaults={"organisation": org, "role": Role.ADMIN, "display_name": "Admin"}
        )
        self.stdout.write(self.style.SUCCESS(f"Demo organisation ready: {len(shops)} shops."))
        # Its quick-reply library: templates_app's own command (the inbox imports no other app).
        call_command("seed_demo_library", username="supervisor", stdout=self.stdout)
