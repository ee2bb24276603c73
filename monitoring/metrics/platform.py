"""The platform's own figures (Get Customer Service Performance), read for each connected shop
by a periodic task and kept as one row per shop (``PlatformPerformance``): the readiness panel
shows the platform's satisfaction beside the ratings the inbox counted itself."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from inbox.models import ShopAccount
from inbox.platforms.base import PlatformError
from inbox.selectors.accounts import shop_connected
from inbox.services.ingestion import shop_api
from monitoring.models.metrics import PlatformPerformance

logger = logging.getLogger(__name__)
PERIOD_DAYS = 60


def _clip(value: Decimal | None, limit: Decimal) -> Decimal | None:
    return None if value is None or value > limit else value


def platform_performance_refresh(*, shop_account_id: int, now: datetime | None = None) -> bool:
    """Read the shop's last 60 whole days (the platform's days, UTC) from its platform and keep
    them; False when the shop is not connected or the platform refused (logged, no data)."""
    now = now or timezone.now()
    shop = ShopAccount.objects.filter(pk=shop_account_id).first()
    if shop is None or not shop_connected(shop):
        return False
    end = now.astimezone(UTC).date()
    start = end - timedelta(days=PERIOD_DAYS)
    try:
        figures = shop_api(shop).service_performance(start, end)
    except PlatformError as exc:
        logger.warning(
            "platform performance of shop %s not read: %s", shop_account_id, type(exc).__name__
        )
        return False
    with transaction.atomic():
        PlatformPerformance.objects.update_or_create(
            shop_account_id=shop.pk,
            defaults={
                "organisation_id": shop.organisation_id,
                "start": start,
                "end": end,
                "sessions": figures.sessions,
                "response_percentage": _clip(figures.response_percentage, Decimal(100)),
                "response_minutes": _clip(figures.response_minutes, Decimal(10**8)),
                "satisfaction_percentage": _clip(figures.satisfaction_percentage, Decimal(100)),
                "fetched_at": now,
            },
        )
    return True


def platform_performance_refresh_all() -> int:
    """Every connected shop's figures (the periodic task): how many were read."""
    done = 0
    for shop_id in ShopAccount.objects.values_list("id", flat=True).order_by("id"):
        done += platform_performance_refresh(shop_account_id=shop_id)
    return done
