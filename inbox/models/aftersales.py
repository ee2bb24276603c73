"""After-sales cases: a platform's return (refund only, return and refund, replacement,
exchange) or cancellation, stored once per (shop account, family, platform id) in its latest
state."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from scrm.fields import EncryptedTextField


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


class AfterSalesCase(models.Model):
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
                fields=["shop_account", "stage", "seller_deadline"], name="case_shop_stage_due"
            ),
            # A case's order (order cards, the buyer panel).
            models.Index(
                fields=["order_platform_id"],
                name="case_order",
                condition=~models.Q(order_platform_id=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.family} {self.platform_case_id}"
