"""Connect a seller's TikTok shops to an organisation.

    manage.py onboard_tiktok_shop --organisation acme --app-key K --app-secret S --auth-code C
    manage.py onboard_tiktok_shop --organisation acme --app-key K --app-secret S \\
        --access-token T --refresh-token R [--access-expires UNIX --refresh-expires UNIX]

``--app-secret`` may be left out when ``TIKTOK_APP_SECRET`` is set, which keeps it out of the
process list and shell history. Tokens and secrets are never printed.
"""

from __future__ import annotations

import os
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from inbox.models import Organisation
from inbox.onboarding import OnboardingError, shop_accounts_onboard
from inbox.platforms.base import PlatformError, TokenSet, get_adapter


def _region_zone(value: str) -> tuple[str, str]:
    region, sep, zone = value.partition("=")
    if not sep or not region or not zone:
        raise ValueError(value)
    return region.strip().upper(), zone.strip()


class Command(BaseCommand):
    help = "Exchange a TikTok Shop authorisation and create/update a ShopAccount per shop."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--organisation", required=True, help="organisation slug")
        parser.add_argument("--app-key", required=True)
        parser.add_argument("--app-secret", help="default: $TIKTOK_APP_SECRET")
        grant = parser.add_mutually_exclusive_group(required=True)
        grant.add_argument("--auth-code", help="the code TikTok redirected back with")
        grant.add_argument("--access-token", help="an access token already obtained")
        parser.add_argument("--refresh-token", help="with --access-token")
        parser.add_argument("--access-expires", type=int, default=0, help="Unix seconds")
        parser.add_argument("--refresh-expires", type=int, default=0, help="Unix seconds")
        parser.add_argument(
            "--time-zone-for",
            action="append",
            default=[],
            type=_region_zone,
            metavar="REGION=Zone",
            help="time zone for shops of a region, e.g. US=America/New_York (repeatable)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        app_secret = options["app_secret"] or os.environ.get("TIKTOK_APP_SECRET", "")
        if not app_secret:
            raise CommandError("give --app-secret or set TIKTOK_APP_SECRET")
        try:
            organisation = Organisation.objects.get(slug=options["organisation"])
        except Organisation.DoesNotExist:
            raise CommandError(f"no organisation with slug {options['organisation']!r}") from None
        tokens = None
        if options["access_token"]:
            if not options["refresh_token"]:
                raise CommandError("--access-token needs --refresh-token")
            tokens = TokenSet(
                access_token=options["access_token"],
                access_token_expires_at=options["access_expires"],
                refresh_token=options["refresh_token"],
                refresh_token_expires_at=options["refresh_expires"],
            )
        try:
            accounts = shop_accounts_onboard(
                organisation=organisation,
                adapter=get_adapter("tiktok_shop"),
                app_key=options["app_key"],
                app_secret=app_secret,
                auth_code=options["auth_code"],
                tokens=tokens,
                time_zones=dict(options["time_zone_for"]),
            )
        except (PlatformError, OnboardingError, ValueError) as exc:
            raise CommandError(f"onboarding failed: {exc}") from None
        for account in accounts:
            self.stdout.write(
                f"{account.platform_shop_id}\t{account.name}\t{account.region}\t"
                f"{account.time_zone}\t(shop account #{account.pk})"
            )
        self.stdout.write(self.style.SUCCESS(f"{len(accounts)} shop(s) onboarded"))
