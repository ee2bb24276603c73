"""Celery tasks of the inbox: thin wrappers that take ids and own their retry policy."""

from __future__ import annotations

import logging
import random

from celery import shared_task

from inbox.models import ShopAccount
from inbox.platforms.base import PlatformError, RateLimited
from inbox.services import ingestion, replies, webhooks

logger = logging.getLogger(__name__)

DELIVERY_MAX_RETRIES = 6


def backoff(retries: int, *, base: float = 2.0, cap: float = 300.0) -> float:
    """Exponential backoff with full jitter: up to 2, 4, 8 … seconds, at most ``cap``."""
    return random.uniform(base / 2, min(cap, base * 2**retries))  # noqa: S311 - not security


@shared_task(bind=True, max_retries=5, acks_late=True)
def process_webhook_event(self, event_id: int) -> str:
    try:
        return webhooks.webhook_event_process(event_id=event_id)
    except PlatformError as exc:
        if exc.retryable and self.request.retries < self.max_retries:
            raise self.retry(countdown=backoff(self.request.retries), exc=exc) from exc
        # The backfill will pick the messages up; keep the reason (no personal data in it).
        webhooks.webhook_event_failed(event_id=event_id, reason=type(exc).__name__)
        return "failed"


@shared_task
def reprocess_stale_webhooks() -> int:
    """Periodic: stored webhooks whose processing task was lost are queued again."""
    ids = webhooks.webhook_events_stale()
    for event_id in ids:
        process_webhook_event.delay(event_id)
    return len(ids)


@shared_task(bind=True, max_retries=DELIVERY_MAX_RETRIES, acks_late=True)
def deliver_message(self, message_id: int) -> str:
    try:
        return replies.message_deliver(message_id=message_id)
    except Exception as exc:
        # Platform trouble, or our own (a locked database, a bug): retried with backoff, then
        # visibly failed; never left "sending" for ever.
        if self.request.retries >= self.max_retries:
            reason = str(exc) if isinstance(exc, PlatformError) else "internal error"
            replies.message_mark_failed(
                message_id=message_id,
                reason=f"Gave up after {self.request.retries + 1} tries: {reason}",
            )
            return "failed"
        wait = exc.retry_after if isinstance(exc, RateLimited) else 0
        if not isinstance(exc, PlatformError):
            logger.warning("delivery of reply %s failed: %s", message_id, type(exc).__name__)
        raise self.retry(countdown=max(wait, backoff(self.request.retries)), exc=exc) from exc


@shared_task(acks_late=True)
def backfill_shop(shop_account_id: int) -> int:
    shop = ShopAccount.objects.get(id=shop_account_id)
    try:
        return ingestion.shop_backfill(shop=shop)
    except PlatformError as exc:
        logger.warning("backfill of shop %s failed: %s", shop_account_id, type(exc).__name__)
        return 0


@shared_task
def backfill_all_shops() -> int:
    """Periodic: queue a backfill for every active shop account."""
    ids = list(ShopAccount.objects.filter(is_active=True).values_list("id", flat=True))
    for shop_id in ids:
        backfill_shop.delay(shop_id)
    return len(ids)


@shared_task
def redeliver_stuck_replies() -> int:
    """Periodic: replies left pending/sending by a lost task or a dead worker go out again
    (the delivery checks the platform first, so nothing is sent twice)."""
    replies.replies_give_up_stale()
    ids = replies.stuck_deliveries()
    for message_id in ids:
        deliver_message.delay(message_id)
    return len(ids)


@shared_task
def wake_snoozed_conversations() -> int:
    """Periodic: snoozed conversations whose time has come go back to the open queue."""
    from inbox.services.conversations import conversations_wake_snoozed

    return conversations_wake_snoozed()
