"""Ingestion bookkeeping: raw webhook events, sync cursors per (shop, stream), the change feed,
presence."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from scrm.fields import EncryptedJSONField, EncryptedTextField, SealedRow


class WebhookEventStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    PROCESSED = "processed", _("Processed")
    IGNORED = "ignored", _("Ignored")
    FAILED = "failed", _("Failed")


class WebhookEvent(SealedRow):
    """A verified webhook as received, stored once per platform notification id.

    The raw body may carry message text, so it is stored encrypted. The platform ids the
    notification is about are copied into columns when it is stored, so handlers and operators
    find events by conversation, return or order without decrypting and parsing bodies; a
    column is "" where the notification names no such object. ``error`` holds why an event
    failed or was ignored (a field or a type, never a value a sender chose).
    """

    platform = models.CharField(max_length=32)
    notification_id = models.CharField(max_length=128)
    shop_account = models.ForeignKey(
        "inbox.ShopAccount",
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # the (shop account, received_at) index serves
    )
    type_code = models.IntegerField()
    kind = models.CharField(max_length=32)
    conversation_platform_id = models.CharField(max_length=128, blank=True, default="")
    message_platform_id = models.CharField(max_length=128, blank=True, default="")
    return_platform_id = models.CharField(max_length=128, blank=True, default="")
    cancellation_platform_id = models.CharField(max_length=128, blank=True, default="")
    order_platform_id = models.CharField(max_length=128, blank=True, default="")
    body = EncryptedTextField()
    status = models.CharField(
        max_length=10, choices=WebhookEventStatus.choices, default=WebhookEventStatus.RECEIVED
    )
    error = models.CharField(max_length=300, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    # When the stale sweep last queued it again: the sweep queues an event once a lease, not on
    # every run while a backlog of tasks holds the queue back (webhook_events_stale_claim).
    requeued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "notification_id"], name="uniq_webhook_notification"
            )
        ]
        indexes = [
            models.Index(fields=["status", "received_at"], name="webhook_status"),
            # A shop's webhook health (the newest events), and the cascade of SET_NULL.
            models.Index(fields=["shop_account", "-received_at"], name="webhook_shop_received"),
            # The events about one conversation, return, cancellation or order (handlers, and
            # operators searching by a platform id); partial, so each index holds only the
            # events that name such an object.
            *(
                models.Index(
                    fields=[column],
                    name=f"webhook_{column.removesuffix('_platform_id')}",
                    condition=~models.Q(**{column: ""}),
                )
                for column in (
                    "conversation_platform_id",
                    "return_platform_id",
                    "cancellation_platform_id",
                    "order_platform_id",
                )
            ),
        ]

    def __str__(self) -> str:
        return f"{self.platform} notification {self.notification_id}"


class SyncStream(models.TextChoices):
    """What a backfill reads from a platform, each from a cursor of its own."""

    MESSAGES = "messages", _("Messages")
    RETURNS = "returns", _("Returns")
    CANCELLATIONS = "cancellations", _("Cancellations")


class SyncCursor(models.Model):
    """Where the periodic backfill of one stream of one shop account has got to.

    ``high_water`` is the newest platform time (for messages: the latest-message time of a
    conversation) the stream's backfill has fully stored; a run pages newest first and stops
    at the first page entirely older than it. Streams advance independently: a failing returns
    sync never holds back messages.
    """

    shop_account = models.ForeignKey(
        "inbox.ShopAccount",
        on_delete=models.CASCADE,
        related_name="sync_cursors",
        db_index=False,  # the unique (shop account, stream) serves
    )
    stream = models.CharField(max_length=16, choices=SyncStream.choices)
    high_water = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    # Runs in a row that stored nothing (the webhooks had it all, or have it on its way), and
    # when the periodic tick queues the stream next: every tick while runs store something,
    # fail or are cut
    # short; twice as long after each quiet run up to SCRM_BACKFILL_QUIET_MAX_SECONDS
    # (inbox.services.ingestion.backfill_wait). None: at the next tick.
    # db_default: a worker of the previous release creates cursors without this column.
    quiet_runs = models.PositiveSmallIntegerField(default=0, db_default=0)
    next_run_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("sync cursor")
        verbose_name_plural = _("sync cursors")
        constraints = [
            models.UniqueConstraint(
                fields=["shop_account", "stream"], name="uniq_sync_cursor_stream"
            )
        ]

    def __str__(self) -> str:
        return f"{self.stream} cursor of shop {self.shop_account_id}"


class InboxEvent(SealedRow):
    """The change feed: every real-time event, with a monotonic id.

    Websocket pushes are a hint; a client that reconnects asks ``/api/v1/events/?after=<id>``
    for what it missed. Events are scoped to a shop account (its members see them) or a user.
    """

    organisation = models.ForeignKey("inbox.Organisation", on_delete=models.CASCADE)
    shop_account = models.ForeignKey(
        "inbox.ShopAccount", null=True, blank=True, on_delete=models.CASCADE
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE
    )
    type = models.CharField(max_length=40)
    # Events carry display fields (the buyer's name, message text): encrypted like the rest.
    data = EncryptedJSONField()
    # PostgreSQL: the writing transaction's id, so the feed can wait for earlier transactions.
    txid = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("inbox event")
        verbose_name_plural = _("inbox events")
        indexes = [models.Index(fields=["shop_account", "id"], name="event_shop_id")]

    def __str__(self) -> str:
        return f"event {self.pk} {self.type}"


class AgentPresence(models.Model):
    """Whether an agent is online: an open inbox socket refreshes ``last_seen_at``."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="presence"
    )
    connections = models.PositiveIntegerField(default=0)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("agent presence")
        verbose_name_plural = _("agent presence")

    def __str__(self) -> str:
        return f"presence of user {self.user_id}"
