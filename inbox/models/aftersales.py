"""After-sales cases: a platform's return (refund only, return and refund, replacement,
exchange) or cancellation, stored once per (shop account, family, platform id) in its latest
state."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from inbox.models.conversations import answered_sentinel
from scrm.fields import EncryptedTextField, SealedRow


class CaseFamily(models.TextChoices):
    """A platform id is unique within its family: returns and cancellations are numbered apart."""

    RETURN = "return", _("Return")
    CANCELLATION = "cancellation", _("Cancellation")


class CaseKind(models.TextChoices):
    REFUND = "refund", _("Refund only")
    RETURN_AND_REFUND = "return_and_refund", _("Return and refund")
    REPLACEMENT = "replacement", _("Replacement")
    EXCHANGE = "exchange", _("Exchange")
    CANCELLATION = "cancellation", _("Cancellation")


class CaseStage(models.TextChoices):
    """Our simple stage, derived from the platform's status (``services.aftersales.STAGES``)."""

    NEEDS_DECISION = "needs_decision", _("Needs a decision")
    WAITING = "waiting", _("Waiting on the buyer or the parcel")
    DECIDED = "decided", _("Decided")
    CLOSED = "closed", _("Closed")


class AfterSalesCase(SealedRow):
    """One return or cancellation as the platform last showed it.

    ``platform_updated_at`` is the platform's ``update_time`` of the state stored: a read older
    than it never overwrites it, so the case never moves backwards. ``buyer_reason`` (the
    buyer's words) is personal data, encrypted at rest. ``history`` lists the statuses seen, as
    ``[status, update_time (Unix seconds)]``, oldest first. ``lines`` and ``amounts`` keep the
    platform's figures as decimal strings with their currency.
    """

    organisation = models.ForeignKey(
        "inbox.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    shop_account = models.ForeignKey(
        "inbox.ShopAccount",
        on_delete=models.CASCADE,
        related_name="after_sales_cases",
        db_index=False,  # the unique (shop account, family, platform id) serves
    )
    family = models.CharField(max_length=16, choices=CaseFamily.choices)
    platform_case_id = models.CharField(max_length=128)
    kind = models.CharField(max_length=20, choices=CaseKind.choices)
    platform_type = models.CharField(max_length=32, blank=True)
    platform_status = models.CharField(max_length=64)
    stage = models.CharField(max_length=16, choices=CaseStage.choices)
    requested_by = models.CharField(max_length=16, blank=True)  # BUYER | SELLER | SYSTEM | ...
    reason_code = models.CharField(max_length=128, blank=True)
    buyer_reason = EncryptedTextField(_("buyer's reason"), blank=True, default="")
    lines = models.JSONField(default=list)
    amounts = models.JSONField(default=dict)
    seller_action = models.CharField(max_length=64, blank=True)
    seller_deadline = models.DateTimeField(null=True, blank=True)
    arbitration_status = models.CharField(max_length=64, blank=True)
    order_platform_id = models.CharField(max_length=128, blank=True)
    customer = models.ForeignKey(
        "inbox.Customer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="after_sales_cases",
    )
    # The chat with this buyer in this shop (found, or opened through the platform when an
    # agent first needs it); null until then.
    conversation = models.ForeignKey(
        "inbox.Conversation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="after_sales_cases",
    )
    # The buyer's evidence from the case's records: [{"kind": "image"|"video", "url": ...,
    # "thumb_url": ..., "width": int, "height": int, "record_time": unix seconds}], oldest first.
    evidence = models.JSONField(default=list)
    # The earliest due time of the case's open SLA deadlines, or ANSWERED_SENTINEL (see
    # Conversation.sla_due_at; written only by inbox.services.sla_keys).
    sla_due_at = models.DateTimeField(default=answered_sentinel)
    history = models.JSONField(default=list)
    platform_created_at = models.DateTimeField()
    platform_updated_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("after-sales case")
        verbose_name_plural = _("after-sales cases")
        constraints = [
            models.UniqueConstraint(
                fields=["shop_account", "family", "platform_case_id"], name="uniq_after_sales_case"
            )
        ]
        indexes = [
            # The cases of a shop by stage, the earliest seller deadline first (the queue).
            models.Index(
                fields=["shop_account", "stage", "seller_deadline", "id"], name="case_queue"
            ),
            # The cases of a shop by stage, by SLA due time (sort=due).
            models.Index(fields=["shop_account", "stage", "sla_due_at", "id"], name="case_due"),
            # A case's order (order cards, the buyer panel).
            models.Index(
                fields=["order_platform_id"],
                name="case_order",
                condition=~models.Q(order_platform_id=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.family} {self.platform_case_id}"


class DecisionVerb(models.TextChoices):
    APPROVE = "approve", _("Approve")
    REJECT = "reject", _("Reject")


class AfterSalesDecision(SealedRow):
    """One decision an agent took on a case, sent to the platform by the outbox.

    Its outbox action (kind ``after_sales_decision``, ``subject_id`` = this id) carries where it
    stands (pending, sending, sent, failed with the platform's reason); the platform's
    idempotency key is derived from this id, so a retry is the same decision. ``idempotency_key``
    is the client's ``Idempotency-Key`` (the same key on the same case is one decision).
    ``comment`` is what the agent wrote to the platform: encrypted, as it may name the buyer.
    ``reply`` is the message to the buyer sent in the same step, through the reply outbox.
    """

    organisation = models.ForeignKey(
        "inbox.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    case = models.ForeignKey(AfterSalesCase, on_delete=models.CASCADE, related_name="decisions")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    verb = models.CharField(max_length=8, choices=DecisionVerb.choices)
    decision = models.CharField(max_length=64)  # the platform's name, e.g. APPROVE_REFUND
    reject_reason = models.CharField(max_length=128, blank=True)  # the platform's reason name
    comment = EncryptedTextField(_("comment"), blank=True, default="")
    partial_refund_amount = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True
    )
    currency = models.CharField(max_length=8, blank=True)
    images = models.JSONField(default=list)  # [{"image_id": ..., ...}] as the platform takes them
    idempotency_key = models.CharField(max_length=100, blank=True)
    reply = models.ForeignKey(
        "inbox.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The case's platform status when the agent decided (what the 409 rule compared against).
    status_seen = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("after-sales decision")
        verbose_name_plural = _("after-sales decisions")
        constraints = [
            models.UniqueConstraint(
                fields=["case", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="uniq_decision_idempotency",
            )
        ]

    def __str__(self) -> str:
        return f"decision {self.pk} ({self.verb}) on case {self.case_id}"


class Order(SealedRow):
    """An order as Get Order Detail last showed it, read when a case, an order card or the
    buyer panel needs it and kept for ``SCRM_ORDER_FRESH_SECONDS`` (``fetched_at``).

    The recipient (name, phone, address, e-mail) is personal data: encrypted at rest, and
    masked for agents until revealing lands. ``lines`` keeps the platform's figures as decimal
    strings: [{"line_item_id", "sku_id", "product_id", "product_name", "sku_name",
    "sale_price", "currency", "image_url"}].
    """

    organisation = models.ForeignKey(
        "inbox.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    shop_account = models.ForeignKey(
        "inbox.ShopAccount", on_delete=models.CASCADE, related_name="orders", db_index=False
    )
    platform_order_id = models.CharField(max_length=128)
    customer = models.ForeignKey(
        "inbox.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    buyer_user_id = models.CharField(max_length=128, blank=True)
    status = models.CharField(max_length=64)
    currency = models.CharField(max_length=8, blank=True)
    total_amount = models.CharField(max_length=32, blank=True)  # a decimal string
    lines = models.JSONField(default=list)
    recipient_name = EncryptedTextField(_("recipient name"), blank=True, default="")
    recipient_phone = EncryptedTextField(_("recipient phone"), blank=True, default="")
    recipient_address = EncryptedTextField(_("recipient address"), blank=True, default="")
    recipient_email = EncryptedTextField(_("recipient e-mail"), blank=True, default="")
    platform_created_at = models.DateTimeField()
    platform_updated_at = models.DateTimeField()
    fetched_at = models.DateTimeField()

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        constraints = [
            models.UniqueConstraint(fields=["shop_account", "platform_order_id"], name="uniq_order")
        ]
        indexes = [
            # A buyer's orders, newest first (the buyer panel).
            models.Index(fields=["customer", "-platform_created_at"], name="order_customer"),
        ]

    def __str__(self) -> str:
        return f"order {self.platform_order_id}"
