"""Buyers, conversations, messages, notes and tags: the unified queue's data."""

from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from scrm.fields import EncryptedJSONField, EncryptedTextField, SealedRow


class Customer(SealedRow):
    """A buyer on one platform, shared by every shop of the organisation it wrote to.

    ``display_name`` (the platform nickname the buyer chats under: shown to agents so they can
    greet them) and ``avatar_url``, and the profile's phone, e-mail and real name (from orders,
    masked for people without the reveal permission), are encrypted at rest, bound to the row.
    ``name_index`` is the nickname's exact blind index under the organisation's key; partial
    names, phones and e-mails are found through ``CustomerSearchToken`` (docs/customers.md).

    A merged profile keeps its row with ``merged_into`` set (so the merge can be undone); an
    erased one keeps its row with every personal field wiped and ``erased_at`` set, and a buyer
    who writes again starts a new profile (``im_user_id`` is then replaced by a tombstone).
    """

    organisation = models.ForeignKey(
        "inbox.Organisation", on_delete=models.CASCADE, related_name="customers"
    )
    platform = models.CharField(max_length=32)
    # TikTok's im_user_id is the one buyer id present both in conversation participants and in
    # message senders, so it is the key; user_id (order-side id) is filled when known.
    im_user_id = models.CharField(max_length=128)
    platform_user_id = models.CharField(max_length=128, blank=True)
    display_name = EncryptedTextField(_("name"))
    avatar_url = EncryptedTextField(_("avatar"))
    name_index = models.CharField(max_length=32, blank=True, db_index=True)
    real_name = EncryptedTextField(_("real name"))
    phone = EncryptedTextField(_("phone"))
    email = EncryptedTextField(_("e-mail"))
    language = models.CharField(_("language"), max_length=16, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    # Values of the organisation's own fields (CustomerField.key -> value), encrypted as one.
    custom_fields = EncryptedJSONField(_("custom fields"))
    tags = models.ManyToManyField("inbox.Tag", blank=True, related_name="customers")
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_from"
    )
    erased_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "platform", "im_user_id"], name="uniq_customer"
            )
        ]
        indexes = [
            # A buyer named by orders and after-sales (user_id) rather than by chat.
            models.Index(
                fields=["organisation", "platform", "platform_user_id"],
                name="customer_user_id",
                condition=~models.Q(platform_user_id=""),
            )
        ]

    def __str__(self) -> str:
        return f"customer {self.pk}"


class Tag(models.Model):
    organisation = models.ForeignKey(
        "inbox.Organisation", on_delete=models.CASCADE, related_name="tags"
    )
    name = models.CharField(_("name"), max_length=50)
    color = models.CharField(_("colour"), max_length=7, default="#64748b")

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        constraints = [models.UniqueConstraint(fields=["organisation", "name"], name="uniq_tag")]

    def __str__(self) -> str:
        return self.name


class ConversationStatus(models.TextChoices):
    OPEN = "open", _("Open")
    PENDING = "pending", _("Pending")
    SNOOZED = "snoozed", _("Snoozed")
    RESOLVED = "resolved", _("Resolved")


class Priority(models.IntegerChoices):
    LOW = 0, _("Low")
    NORMAL = 1, _("Normal")
    HIGH = 2, _("High")
    URGENT = 3, _("Urgent")


ANSWERED_SENTINEL = datetime(9999, 1, 1, tzinfo=UTC)


def answered_sentinel() -> datetime:
    return ANSWERED_SENTINEL


class Conversation(SealedRow):
    """One buyer's chat with one shop account on its platform.

    ``waiting_since`` is the time of the oldest buyer message not yet answered by a human (null
    once answered): the queue sorts by it, and the SLA is measured from it.
    """

    organisation = models.ForeignKey(
        "inbox.Organisation", on_delete=models.CASCADE, related_name="conversations"
    )
    shop_account = models.ForeignKey(
        "inbox.ShopAccount", on_delete=models.CASCADE, related_name="conversations"
    )
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="conversations")
    platform_conversation_id = models.CharField(max_length=128)
    status = models.CharField(
        _("status"), max_length=16, choices=ConversationStatus.choices, default="open"
    )
    priority = models.SmallIntegerField(_("priority"), choices=Priority.choices, default=1)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_conversations",
    )
    tags = models.ManyToManyField(
        Tag, blank=True, related_name="conversations", through="ConversationTag"
    )
    unread_count = models.PositiveIntegerField(default=0)
    last_message_at = models.DateTimeField(default=timezone.now)
    last_message_preview = EncryptedTextField()
    last_buyer_message_at = models.DateTimeField(null=True, blank=True)
    waiting_since = models.DateTimeField(null=True, blank=True)
    # waiting_since, or ANSWERED_SENTINEL once answered: never null, so the queue's cursor and
    # index can order on it (who waited longest first, answered ones last).
    queue_key = models.DateTimeField(default=answered_sentinel)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    # The earliest due time of the conversation's open SLA deadlines, or ANSWERED_SENTINEL when
    # none is open: the queue's "due" sort. Written only by inbox.services.sla_keys (which the
    # SLA tracker calls as deadlines open, close and move).
    sla_due_at = models.DateTimeField(default=answered_sentinel)
    can_send_message = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        constraints = [
            models.UniqueConstraint(
                fields=["shop_account", "platform_conversation_id"], name="uniq_conversation"
            )
        ]
        indexes = [
            # The default queue: open work of some shops, longest waiting first.
            models.Index(fields=["shop_account", "status", "queue_key", "id"], name="conv_queue"),
            # The default queue (open + pending, longest waiting first) across several shops:
            # PostgreSQL cannot merge ordered scans of IN lists on conv_queue, so it read and
            # sorted every open row; this one is read in order and stops after a page.
            models.Index(
                fields=["queue_key", "id"],
                condition=Q(status__in=["open", "pending"]),
                name="conv_queue_open",
            ),
            models.Index(
                fields=["shop_account", "status", "-last_message_at", "id"], name="conv_recent"
            ),
            models.Index(fields=["assignee", "status"], name="conv_assignee"),
            # "Mine" (assignee=me) in the default order: read in order, a page, whatever the
            # person holds (a bitmap of their open rows, sorted, took 11 ms for 17k at 1M).
            models.Index(
                fields=["assignee", "queue_key", "id"],
                condition=Q(status__in=["open", "pending"]),
                name="conv_assignee_open",
            ),
            # The queue sorted by due time (sort=due), per shop and across shops.
            models.Index(fields=["shop_account", "status", "sla_due_at", "id"], name="conv_due"),
            models.Index(
                fields=["sla_due_at", "id"],
                condition=Q(status__in=["open", "pending"]),
                name="conv_due_open",
            ),
        ]

    def __str__(self) -> str:
        return f"conversation {self.pk}"


class ConversationTag(models.Model):
    """A tag on a conversation (the table of the ``tags`` many-to-many, Django's own until
    issue 18), with a copy of the conversation's queue position while it is open work.

    ``queue_key`` (the conversation's, while its status is open or pending; null otherwise)
    and ``shop_account`` are written by the database, never by the application: triggers
    copy them when a link is made and whenever the conversation's ``queue_key`` or status
    changes (``inbox/tag_links.py``), so they are right in every transaction, whichever code
    changed the conversation. They let a tag's open conversations be read in queue order
    from ``conv_tag_queue_open`` and stop after a page, where testing the queue's rows for
    the tag one by one probed thousands of rows at 1M conversations.
    """

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="tag_links"
    )
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="conversation_links")
    queue_key = models.DateTimeField(null=True, editable=False)
    shop_account = models.ForeignKey(
        "inbox.ShopAccount",
        null=True,
        editable=False,
        on_delete=models.DO_NOTHING,  # the conversation's cascade removes the link first
        db_constraint=False,
        db_index=False,  # read through conv_tag_queue_open
        related_name="+",
    )

    class Meta:
        db_table = "inbox_conversation_tags"
        unique_together = [("conversation", "tag")]
        indexes = [
            # A tag's open conversations in the default queue's order (the queue's tag view).
            models.Index(
                fields=["tag", "queue_key", "conversation", "shop_account"],
                condition=Q(queue_key__isnull=False),
                name="conv_tag_queue_open",
            )
        ]

    def __str__(self) -> str:
        return f"tag {self.tag_id} on conversation {self.conversation_id}"


class Direction(models.TextChoices):
    INBOUND = "in", _("From buyer")
    OUTBOUND = "out", _("To buyer")


class DeliveryState(models.TextChoices):
    RECEIVED = "received", _("Received")  # inbound, or outbound seen on the platform
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class Message(SealedRow):
    """One message of a conversation, stored once per (shop account, platform message id).

    Outbound replies start ``pending`` with the client's idempotency key and no platform id; their
    outbox action (``inbox.OutboxAction`` of kind ``reply``) moves them to ``sending``, then
    ``sent`` (with the id) or ``failed`` (with the reason): ``delivery_state`` mirrors it.
    """

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    shop_account = models.ForeignKey(
        "inbox.ShopAccount", on_delete=models.CASCADE, related_name="+"
    )
    # NULL (not "") until the platform gives an id, so the unique constraint ignores pending rows.
    platform_message_id = models.CharField(max_length=128, null=True, blank=True)  # noqa: DJ001
    direction = models.CharField(max_length=3, choices=Direction.choices)
    sender_role = models.CharField(max_length=20)  # BUYER, SHOP, CUSTOMER_SERVICE, SYSTEM, ROBOT
    type = models.CharField(max_length=32, default="TEXT")
    text = EncryptedTextField()
    content = EncryptedJSONField()
    is_visible = models.BooleanField(default=True)
    sent_at = models.DateTimeField(db_index=True)  # the platform's create_time, or submit time
    platform_index = models.CharField(max_length=64, blank=True)
    delivery_state = models.CharField(
        max_length=10, choices=DeliveryState.choices, default=DeliveryState.RECEIVED
    )
    failure_reason = models.CharField(max_length=300, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    idempotency_key = models.CharField(max_length=100, blank=True)
    # Read from the platform's own listing. A reply we sent carries the platform's id before
    # that: it must not count as "already have everything up to here" for sync and backfill.
    synced = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [
            models.UniqueConstraint(
                fields=["shop_account", "platform_message_id"],
                condition=Q(platform_message_id__isnull=False),
                name="uniq_platform_message",
            ),
            models.UniqueConstraint(
                fields=["conversation", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="uniq_reply_idempotency",
            ),
        ]
        indexes = [
            models.Index(fields=["conversation", "sent_at", "id"], name="msg_timeline"),
            models.Index(
                fields=["delivery_state"],
                condition=Q(delivery_state__in=["pending", "sending"]),
                name="msg_undelivered",
            ),
        ]

    def __str__(self) -> str:
        return f"message {self.pk}"


class Note(SealedRow):
    """An internal note on a conversation: seen by the team, never sent to the buyer."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    text = EncryptedTextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("note")
        verbose_name_plural = _("notes")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"note {self.pk}"
