"""SLA alerts sent to an organisation's channels (e-mail, Feishu, DingTalk, Slack, JSON
webhooks), each delivery an outbox action of kind ``sla_alert_delivery``.

- :func:`alert_deliveries_enqueue` (the sweep calls it in the transaction that records the
  alert): one ``AlertDelivery`` per active channel of the organisation that covers the alert's
  shop (a channel without a shop covers all) and takes its kind (``alert_kinds``), and one
  outbox action each (``subject_id`` = the delivery's id). The delivery's unique constraint
  and the alert's make it once per alert and channel.
- The handler renders the alert when it sends (``formats``), in the organisation's language,
  and posts it through the SSRF guard (``scrm.outbound``), or mails it. An HTTP 5xx, a timeout
  or a bot's rate limit is retried by the outbox with backoff; a 4xx, a bot's error code, a
  refused address, or a channel deleted or turned off fails the delivery at once with the
  reason.
- At least once: a chat bot cannot tell us whether an earlier attempt that timed out reached
  it (no ``find``), so a retry may repeat an alert a bot already showed; a JSON receiver can
  drop the repeat by its ``X-SCRM-Delivery`` header. An alert not out within
  ``max_age`` is given up (a late warning no longer helps).
- Channel health (``consecutive_failures``, ``last_success_at``, ``last_failure_at``,
  ``last_failure_reason``) moves with each delivery's end, in the outbox's closing transaction.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from inbox.models import OutboxAction
from inbox.services.outbox import Handler, outbox_enqueue, required_id
from monitoring.models import AlertChannel, AlertChannelKind, AlertDelivery, SlaAlert
from monitoring.sla import formats
from scrm.http import HttpError
from scrm.outbound import outbound_post

logger = logging.getLogger(__name__)

SLA_ALERT_DELIVERY = "sla_alert_delivery"


class DeliveryError(Exception):
    """A delivery that did not go (the outbox reads ``retryable``)."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.retryable = retryable


@dataclass(frozen=True)
class Prepared:
    channel: AlertChannel
    text: formats.AlertText
    test: bool


class AlertDeliveryHandler(Handler):
    """One alert (or a test alert) to one channel."""

    kind = SLA_ALERT_DELIVERY
    # Repeating it is harmless enough: an alert seen twice (see the module's doc).
    idempotent = True
    max_age = timedelta(hours=6)
    stale_reason = "Not delivered within 6 hours."

    def prepare(self, action: OutboxAction) -> Prepared:
        test = bool(action.params.get("test"))
        if test:
            channel = _channel(int(action.params["channel_id"]))
            language = str(action.params.get("language") or "en")
            return Prepared(channel, formats.test_alert_text(channel, language=language), True)
        delivery = (
            AlertDelivery.objects.select_related("alert__deadline")
            .filter(id=required_id(action.subject_id, "alert delivery"))
            .first()
        )
        if delivery is None:
            raise DeliveryError("The channel was deleted.", retryable=False)
        channel = _channel(delivery.channel_id)
        if not channel.is_active:
            raise DeliveryError("The channel was turned off.", retryable=False)
        return Prepared(channel, formats.alert_text(delivery.alert), False)

    def perform(self, action: OutboxAction, prepared: Any) -> str:
        channel, text = prepared.channel, prepared.text
        try:
            if channel.kind == AlertChannelKind.EMAIL:
                return _mail(channel, text)
            return _post(channel, text, delivery=str(action.subject_id or f"test-{action.id}"))
        except Exception as exc:
            retryable = getattr(exc, "retryable", None)
            if prepared.test and retryable is True:
                # A test is one attempt, answered now: what went wrong, not a retry later.
                raise DeliveryError(self.reason(exc), retryable=False) from exc
            raise

    def reason(self, error: Exception) -> str:
        # An HTTP error's message names the URL's path, which carries a bot's token (Feishu,
        # Slack): the reason shown on the channel and in the outbox keeps only what happened.
        if isinstance(error, HttpError):
            return error.reason[:300]
        return str(error)[:300]

    def on_sent(self, action: OutboxAction, *, result: str, outcome: str) -> None:
        AlertChannel.objects.filter(id=_channel_id(action)).update(
            consecutive_failures=0, last_success_at=timezone.now()
        )

    def on_failed(self, action: OutboxAction, *, reason: str) -> None:
        channel_id = _channel_id(action)
        AlertChannel.objects.filter(id=channel_id).update(
            consecutive_failures=F("consecutive_failures") + 1,
            last_failure_at=timezone.now(),
            last_failure_reason=reason[:300],
        )
        logger.warning("sla alert delivery %s failed (channel %s)", action.id, channel_id)


def _channel(channel_id: int) -> AlertChannel:
    channel = AlertChannel.objects.filter(id=channel_id).first()
    if channel is None:
        raise DeliveryError("The channel was deleted.", retryable=False)
    return channel


def _channel_id(action: OutboxAction) -> int:
    """The action's channel (every action of this kind names it in its params)."""
    return int(action.params["channel_id"])


def _post(channel: AlertChannel, text: formats.AlertText, *, delivery: str) -> str:
    request = formats.webhook_request(channel, text, delivery=delivery)
    response = outbound_post(request.url, body=request.body, headers=request.headers)
    refusal = formats.vendor_refusal(channel.kind, response.content)
    if refusal is not None:
        reason, retryable = refusal
        raise DeliveryError(reason, retryable=retryable)
    return ""


def _mail(channel: AlertChannel, text: formats.AlertText) -> str:
    if settings.EMAIL_BACKEND.endswith("smtp.EmailBackend") and not settings.EMAIL_HOST:
        raise DeliveryError(
            "This server sends no e-mail (SCRM_EMAIL_HOST is not set).", retryable=False
        )
    message = formats.email_message(channel.target, text)
    try:
        message.send()
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryError("The mail server refused the addresses.", retryable=False) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"Mail not sent ({type(exc).__name__}).", retryable=True) from exc
    return ""


# --- asking for deliveries -------------------------------------------------------------------
def channels_for_alert(alert: SlaAlert) -> list[AlertChannel]:
    """The organisation's active channels that cover the alert's shop and take its kind."""
    channels = AlertChannel.objects.filter(
        organisation_id=alert.organisation_id, is_active=True
    ).order_by("id")
    return [
        channel
        for channel in channels
        if channel.shop_account_id in (None, alert.shop_account_id)
        and alert.kind in (channel.alert_kinds or [])
    ]


def alert_deliveries_enqueue(*, alert: SlaAlert) -> list[AlertDelivery]:
    """One delivery per matching channel (:func:`channels_for_alert`), each with its outbox
    action, in the caller's transaction (the alert's): stored with the alert or not at all,
    sent once it commits. Keeps: once per alert and channel (a second call adds nothing)."""
    created: list[AlertDelivery] = []
    with transaction.atomic():
        for channel in channels_for_alert(alert):
            delivery, new = AlertDelivery.objects.get_or_create(alert=alert, channel=channel)
            if not new:
                continue
            outbox_enqueue(
                kind=SLA_ALERT_DELIVERY,
                organisation_id=alert.organisation_id,
                shop_account_id=alert.shop_account_id,
                subject_id=delivery.id,
                params={"channel_id": channel.id},
            )
            created.append(delivery)
    return created


def test_delivery_enqueue(*, channel: AlertChannel, language: str) -> OutboxAction:
    """A test alert to one channel as an outbox action (no alert row): sent once, answered
    by its first attempt (a test is not retried)."""
    return outbox_enqueue(
        kind=SLA_ALERT_DELIVERY,
        organisation_id=channel.organisation_id,
        shop_account_id=channel.shop_account_id,
        params={"channel_id": channel.id, "test": True, "language": language},
    )


def register_kinds() -> None:
    """monitoring's outbox kinds (called from ``MonitoringConfig.ready()``)."""
    from inbox.services.outbox import outbox_handler_register

    outbox_handler_register(AlertDeliveryHandler())
