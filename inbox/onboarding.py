"""Connecting a seller's shops: exchange the authorisation, discover shops, store credentials."""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from functools import partial
from typing import Any

from django.db import transaction

from inbox.models import Organisation, ShopAccount
from inbox.platforms.base import (
    AuthorizedShop,
    Credentials,
    PlatformAdapter,
    TokenSet,
    get_adapter,
)
from inbox.selectors import AnyUser
from inbox.services.webhooks import webhook_keys
from monitoring.audit import audit_record

# A shop's default time zone by region (the seller can change it afterwards). Regions that
# span several zones get the zone most of their sellers work in.
REGION_TIME_ZONES: dict[str, str] = {
    "US": "America/Los_Angeles",
    "GB": "Europe/London",
    "UK": "Europe/London",
    "MY": "Asia/Kuala_Lumpur",
    "SG": "Asia/Singapore",
    "TH": "Asia/Bangkok",
    "VN": "Asia/Ho_Chi_Minh",
    "PH": "Asia/Manila",
    "ID": "Asia/Jakarta",
    "MX": "America/Mexico_City",
    "ES": "Europe/Madrid",
    "DE": "Europe/Berlin",
    "FR": "Europe/Paris",
    "IT": "Europe/Rome",
    "IE": "Europe/Dublin",
    "JP": "Asia/Tokyo",
    "BR": "America/Sao_Paulo",
}


class OnboardingError(Exception):
    """The shops could not be onboarded (nothing was written)."""


def shop_time_zone(region: str, overrides: Mapping[str, str] | None = None) -> str:
    region = region.upper()
    if overrides and region in overrides:
        return overrides[region]
    return REGION_TIME_ZONES.get(region, "UTC")


def shop_accounts_onboard(
    *,
    organisation: Organisation,
    adapter: PlatformAdapter,
    app_key: str,
    app_secret: str,
    auth_code: str | None = None,
    tokens: TokenSet | None = None,
    time_zones: Mapping[str, str] | None = None,
    actor: AnyUser | None = None,
) -> list[ShopAccount]:
    """Create or update one ShopAccount per shop the seller authorised; returns them.

    Give either ``auth_code`` (exchanged here; it is single-use) or ``tokens`` already obtained.
    Invariants:
    - credentials (app key/secret, token pair, the shop's cipher and id) are stored only in the
      encrypted ``credentials`` field;
    - a shop already connected to another organisation is refused, never moved;
    - an existing shop keeps its time zone unless ``time_zones`` names its region;
    - every shop written gets a ``shop_account.onboarded`` audit event (by ``actor``, the admin
      who connected it in the product; none from the command or Django admin), in the same
      transaction as the writes; a disconnected shop authorised again is active again. The
      platform calls happen before that transaction, so no database transaction is held open
      across HTTP.
    """
    if (auth_code is None) == (tokens is None):
        raise ValueError("give exactly one of auth_code or tokens")
    for zone in (time_zones or {}).values():
        if zone not in zoneinfo.available_timezones():
            raise ValueError(f"unknown time zone: {zone}")
    if tokens is None:
        assert auth_code is not None  # noqa: S101 - narrowed by the check above
        tokens = adapter.exchange_auth_code(app_key, app_secret, auth_code)
    base = Credentials(app_key=app_key, app_secret=app_secret).with_tokens(tokens)
    shops = adapter.authorized_shops(base)
    if not shops:
        raise OnboardingError("the authorisation covers no shops")
    return _shop_accounts_save(
        organisation=organisation,
        platform=adapter.name,
        base=base,
        shops=shops,
        time_zones=time_zones,
        actor=actor,
    )


def shop_accounts_rediscover(
    *, shop_account: ShopAccount, adapter: PlatformAdapter | None = None
) -> list[ShopAccount]:
    """Re-run onboarding with a shop account's stored tokens (for an admin action).

    Picks up shops added to the same authorisation and refreshes names and regions; keeps the
    invariants of ``shop_accounts_onboard``. An expired stored token raises AuthExpired.
    """
    stored = Credentials.from_dict(shop_account.credentials)
    return shop_accounts_onboard(
        organisation=shop_account.organisation,
        adapter=adapter or get_adapter(shop_account.platform),
        app_key=stored.app_key,
        app_secret=stored.app_secret,
        tokens=TokenSet(
            access_token=stored.access_token,
            access_token_expires_at=stored.access_token_expires_at,
            refresh_token=stored.refresh_token,
            refresh_token_expires_at=stored.refresh_token_expires_at,
        ),
    )


@transaction.atomic
def _shop_accounts_save(
    *,
    organisation: Organisation,
    platform: str,
    base: Credentials,
    shops: list[AuthorizedShop],
    time_zones: Mapping[str, str] | None,
    actor: AnyUser | None = None,
) -> list[ShopAccount]:
    overrides = {k.upper(): v for k, v in (time_zones or {}).items()}
    saved: list[ShopAccount] = []
    for shop in shops:
        # Any: the stubs see EncryptedJSONField as the TextField it subclasses.
        credentials: Any = Credentials(
            app_key=base.app_key,
            app_secret=base.app_secret,
            access_token=base.access_token,
            access_token_expires_at=base.access_token_expires_at,
            refresh_token=base.refresh_token,
            refresh_token_expires_at=base.refresh_token_expires_at,
            shop_cipher=shop.cipher,
            shop_id=shop.shop_id,
        ).to_dict()
        region = shop.region.upper()
        account = (
            ShopAccount.objects.select_for_update()
            .filter(platform=platform, platform_shop_id=shop.shop_id)
            .first()
        )
        if account is None:
            account = ShopAccount.objects.create(
                organisation=organisation,
                platform=platform,
                platform_shop_id=shop.shop_id,
                name=shop.name or shop.shop_id,
                region=region,
                time_zone=shop_time_zone(region, overrides),
                credentials=credentials,
            )
            created, reactivated = True, False
        else:
            if account.organisation_id != organisation.pk:
                raise OnboardingError(
                    f"shop {shop.shop_id} is already connected to another organisation"
                )
            account.name = shop.name or account.name
            account.region = region
            if region in overrides:
                account.time_zone = overrides[region]
            account.credentials = credentials
            reactivated = not account.is_active
            account.is_active = True
            account.save(update_fields=["name", "region", "time_zone", "credentials", "is_active"])
            created = False
        audit_record(
            organisation_id=organisation.pk,
            actor=actor,
            action="shop_account.onboarded",
            target=account,
            data={
                "platform": platform,
                "region": region,
                "created": created,
                "reactivated": reactivated,
            },
        )
        saved.append(account)
        # This process verifies the shop's next webhook with the new secret at once (other
        # processes within inbox.services.webhooks.KEYS_RECHECK_SECONDS).
        transaction.on_commit(partial(webhook_keys.forget, platform, shop.shop_id))
    return saved
