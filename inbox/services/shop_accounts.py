"""Shop accounts, managed by an organisation's admins in the product: connect (through the
onboarding of :mod:`inbox.onboarding`), edit, and disconnect."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_noop

from inbox.hooks import ShopTimeZoneChanged, shop_time_zone_changed
from inbox.models import AssignmentMode, ShopAccount
from inbox.onboarding import OnboardingError, shop_accounts_onboard
from inbox.platforms.base import PlatformError, TransientError, get_adapter
from inbox.selectors import AnyUser, member_for
from inbox.selectors.people import admin_member
from inbox.services.organisation import (
    clean_name,
    clean_time_zone,
    field_changes,
    field_changes_save,
)
from inbox.services.webhooks import webhook_keys
from monitoring.audit import audit_record
from monitoring.audit_log.address import request_address
from scrm.api import NotFound, ServiceError, locked_or_not_found

logger = logging.getLogger(__name__)

NAME_MAX = ShopAccount._meta.get_field("name").max_length or 200
# What an app key, secret or authorisation code may look like: printable ASCII, bounded.
CREDENTIAL_MAX = 500


def _credential(value: Any, what: str) -> str:
    value = str(value or "").strip()
    if not value or len(value) > CREDENTIAL_MAX or not value.isascii() or not value.isprintable():
        raise ServiceError(
            gettext_noop("Fill in the app key, the app secret and the authorisation code."),
            code="invalid_credentials",
            details={"field": what},
        )
    return value


def shop_account_connect(
    *, actor: AnyUser, app_key: str, app_secret: str, auth_code: str
) -> list[ShopAccount]:
    """Connect the TikTok shops a seller authorised, into the admin's organisation.

    Keeps the invariants of ``shop_accounts_onboard`` (credentials stored encrypted only; a
    shop of another organisation refused, never moved; audited per shop, by the admin; a
    disconnected shop authorised again is active again), plus: admins only; the platform's
    refusal is a 400 ``platform_refused`` (an unreachable platform a 502
    ``platform_unavailable``), and nothing is written then. Each shop's backfill is queued
    when the shops are stored, so its conversations appear without waiting for the
    periodic one.
    """
    member = admin_member(actor)
    key = _credential(app_key, "app_key")
    secret = _credential(app_secret, "app_secret")
    code = _credential(auth_code, "auth_code")
    try:
        shops = shop_accounts_onboard(
            organisation=member.organisation,
            adapter=get_adapter("tiktok_shop"),
            app_key=key,
            app_secret=secret,
            auth_code=code,
            actor=actor,
        )
    except TransientError as exc:
        logger.warning("connecting a shop: platform unavailable (%s)", type(exc).__name__)
        raise ServiceError(
            gettext_noop("TikTok Shop could not be reached. Try again in a minute."),
            code="platform_unavailable",
            status_code=502,
        ) from None
    except PlatformError as exc:
        raise ServiceError(
            gettext_noop(
                "TikTok Shop refused this authorisation code (it works once, for 30 minutes, "
                "with the app key and secret it was issued for)."
            ),
            code="platform_refused",
            details={"platform_code": exc.code},
        ) from None
    except OnboardingError:
        raise ServiceError(
            gettext_noop(
                "These shops cannot be connected here: the authorisation covers no shop, or a "
                "shop is connected to another organisation."
            ),
            code="onboarding_refused",
            status_code=409,
        ) from None
    from inbox.tasks import backfill_shop

    for shop in shops:
        transaction.on_commit(partial(backfill_shop.delay, shop.pk))
    return shops


def _time_zone_changed(shop: ShopAccount) -> None:
    shop_time_zone_changed.emit(
        ShopTimeZoneChanged(organisation_id=shop.organisation_id, shop_account_id=shop.pk)
    )


def _shop_for_update(member: Any, shop_account_id: int) -> ShopAccount:
    return locked_or_not_found(
        ShopAccount,
        "Shop account not found.",
        pk=shop_account_id,
        organisation_id=member.organisation_id,
    )


@transaction.atomic
def shop_account_update(
    *, actor: AnyUser, shop_account_id: int, name: str, time_zone: str, assignment_mode: str
) -> ShopAccount:
    """Rename a shop account, set its time zone or its automatic assignment.

    Keeps: admins only, shops of their organisation (404 else); a name, a known time zone and
    a known assignment mode (400 else); audited as ``shop_account.updated`` with each changed
    field's before and after; nothing changed writes nothing; a new time zone is announced
    as ``inbox.hooks.shop_time_zone_changed``.
    """
    member = admin_member(actor)
    shop = _shop_for_update(member, shop_account_id)
    if assignment_mode not in AssignmentMode.values:
        raise ServiceError(
            gettext_noop("Choose an assignment mode from the list."), code="invalid_assignment"
        )
    wanted = {
        "name": clean_name(name, max_length=NAME_MAX),
        "time_zone": clean_time_zone(time_zone),
        "assignment_mode": str(assignment_mode),
    }
    changed = field_changes(shop, wanted)
    if not changed:
        return shop
    field_changes_save(
        instance=shop,
        changed=changed,
        actor=actor,
        organisation_id=member.organisation_id,
        action="shop_account.updated",
    )
    if "time_zone" in changed:
        _time_zone_changed(shop)
    return shop


@transaction.atomic
def shop_account_time_zone_set(*, actor: AnyUser, shop_account_id: int, time_zone: str) -> bool:
    """Set a shop account's time zone (its business calendar's: the SLA settings page).

    Keeps: supervisors and admins, shops of their organisation (404 else, agents too); a known
    time zone (400 else); audited as ``shop_account.updated`` with its before and after;
    a change announced as ``inbox.hooks.shop_time_zone_changed``; returns whether it changed
    (unchanged writes nothing).
    """
    member = member_for(actor)
    if not member.sees_all_shops:
        raise NotFound("Shop account not found.")
    shop = _shop_for_update(member, shop_account_id)
    changed = field_changes(shop, {"time_zone": clean_time_zone(time_zone)})
    if not changed:
        return False
    field_changes_save(
        instance=shop,
        changed=changed,
        actor=actor,
        organisation_id=member.organisation_id,
        action="shop_account.updated",
    )
    _time_zone_changed(shop)
    return True


@transaction.atomic
def shop_account_disconnect(*, actor: AnyUser, shop_account_id: int) -> ShopAccount:
    """Stop working a shop account, keeping its history: it is inactive, so the periodic
    backfill skips it, its webhooks are refused (401 at receipt; those stored before are
    ignored), and its conversations stay readable.

    Keeps: admins only, shops of their organisation (404 else); audited once as
    ``shop_account.disconnected``; this process forgets the shop's webhook key at commit
    (others within ``inbox.services.webhooks.KEYS_TTL_SECONDS``). Connecting it again
    (a new authorisation) makes it active again.
    """
    member = admin_member(actor)
    shop = _shop_for_update(member, shop_account_id)
    if not shop.is_active:
        return shop
    shop.is_active = False
    shop.save(update_fields=["is_active"])
    audit_record(
        organisation_id=member.organisation_id,
        actor=actor,
        action="shop_account.disconnected",
        ip=request_address(),
        target=shop,
        data={"platform": shop.platform},
    )
    transaction.on_commit(partial(webhook_keys.forget, shop.platform, shop.platform_shop_id))
    return shop
