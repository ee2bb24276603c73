"""Customer profiles beyond the chat: the organisation's own fields, notes about a buyer,
follow-up records, merges, and the token tables that search encrypted data (docs/customers.md,
docs/customer-data.md)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from scrm.fields import EncryptedTextField, SealedRow


class CustomerFieldKind(models.TextChoices):
    TEXT = "text", _("Text")
    NUMBER = "number", _("Number")
    DATE = "date", _("Date")
    CHOICE = "choice", _("Choice")
    YES_NO = "yes_no", _("Yes or no")


class CustomerField(models.Model):
    """A field the organisation adds to every customer profile (e.g. "VIP level")."""

    organisation = models.ForeignKey(
        "inbox.Organisation", on_delete=models.CASCADE, related_name="customer_fields"
    )
    key = models.SlugField(_("key"), max_length=40)
    label = models.CharField(_("label"), max_length=80)
    kind = models.CharField(
        _("kind"), max_length=10, choices=CustomerFieldKind.choices, default="text"
    )
    choices = models.JSONField(_("choices"), default=list, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("customer field")
        verbose_name_plural = _("customer fields")
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "key"], name="uniq_customer_field")
        ]

    def __str__(self) -> str:
        return self.label


class CustomerNote(SealedRow):
    """An internal note about a buyer (not about one conversation): encrypted, never sent."""

    customer = models.ForeignKey(
        "inbox.Customer", on_delete=models.CASCADE, related_name="profile_notes"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    text = EncryptedTextField(_("text"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("customer note")
        verbose_name_plural = _("customer notes")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"customer note {self.pk}"


class FollowUp(SealedRow):
    """What was promised to a buyer, by whom, and when to follow up: a reminder goes through
    the SLA alert channels when ``due_at`` passes and it is not done (once: ``reminded_at``)."""

    organisation = models.ForeignKey(
        "inbox.Organisation", on_delete=models.CASCADE, related_name="follow_ups"
    )
    customer = models.ForeignKey(
        "inbox.Customer", on_delete=models.CASCADE, related_name="follow_ups"
    )
    # The shop the promise was made in (whose members are reminded), if any.
    shop_account = models.ForeignKey(
        "inbox.ShopAccount", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    conversation = models.ForeignKey(
        "inbox.Conversation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    promise = EncryptedTextField(_("what was promised"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    due_at = models.DateTimeField(_("follow up by"))
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reminded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        ordering = ["due_at", "id"]
        indexes = [
            # The reminder sweep: open follow-ups past due and not yet reminded.
            models.Index(
                fields=["due_at"],
                condition=Q(done_at__isnull=True, reminded_at__isnull=True),
                name="followup_due",
            )
        ]

    def __str__(self) -> str:
        return f"follow-up {self.pk}"


class CustomerMerge(models.Model):
    """Two profiles found to be one person: ``merged`` now points at ``survivor``. What moved
    is recorded so the merge can be undone exactly."""

    organisation = models.ForeignKey(
        "inbox.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    survivor = models.ForeignKey("inbox.Customer", on_delete=models.CASCADE, related_name="+")
    merged = models.ForeignKey("inbox.Customer", on_delete=models.CASCADE, related_name="+")
    # {"conversations": [ids], "orders": [ids], "cases": [ids], "notes": [ids], ...}
    moved = models.JSONField(default=dict)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    merged_at = models.DateTimeField(auto_now_add=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("customer merge")
        verbose_name_plural = _("customer merges")

    def __str__(self) -> str:
        return f"merge {self.pk}"


class CustomerSearchToken(models.Model):
    """One blind token of a customer's searchable values (name prefixes, phone forms, e-mail),
    keyed per organisation (scrm.blind): found with ``token = ANY(...)``, then the candidates
    decrypted and checked."""

    organisation_id = models.BigIntegerField()
    customer = models.ForeignKey(
        "inbox.Customer", on_delete=models.CASCADE, related_name="search_tokens"
    )
    token = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["organisation_id", "token"], name="cust_token")]

    def __str__(self) -> str:
        return f"customer token {self.pk}"


class MessageToken(models.Model):
    """One blind token of a message's text (a word, or a pair of Chinese characters), keyed per
    organisation: message search without plaintext in the database."""

    shop_account_id = models.BigIntegerField()
    message = models.ForeignKey("inbox.Message", on_delete=models.CASCADE, related_name="+")
    token = models.BigIntegerField()

    class Meta:
        indexes = [
            models.Index(
                fields=["token", "-message"], include=["shop_account_id"], name="msg_token"
            )
        ]

    def __str__(self) -> str:
        return f"message token {self.pk}"


class KeyRotation(models.Model):
    """Where ``manage.py rotate_keys`` has got to, per table and column set: resumable after a
    crash (``last_id``), with counts for progress and the estimate."""

    kind = models.CharField(max_length=16)  # "encryption" or "index"
    target_kid = models.CharField(max_length=40)
    table = models.CharField(max_length=100)
    last_id = models.BigIntegerField(default=0)
    rewritten = models.BigIntegerField(default=0)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    extra = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "target_kid", "table"], name="uniq_key_rotation"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} rotation to {self.target_kid}: {self.table}"
