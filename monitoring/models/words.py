"""The sensitive-word monitor's records: word lists (organisation-wide, overridable per shop),
their entries, per-category actions and allow-lists, the violations a send raised, and the risk
tags buyer messages carry.

A list's ``version`` goes up on every change to it or its entries; the compiled automaton is
cached per (organisation list version, shop list version) and rebuilt when either moves
(monitoring/words/). A violation keeps the text that was screened encrypted (it may hold
personal data an agent typed); its ``matches`` hold offsets, categories and, for list words
only, the list's word (a detector's match, a phone number say, keeps no text).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from scrm.fields import EncryptedTextField, SealedRow


class WordCategory(models.TextChoices):
    OFF_PLATFORM = "off_platform", _("Off-platform contact")
    REVIEW = "review_manipulation", _("Review manipulation")
    ABUSE = "abuse", _("Abuse")
    PROMISE = "forbidden_promise", _("Forbidden promise")
    CUSTOM = "custom", _("Custom")
    # The detectors' categories (no words: a pattern finds them).
    PHONE = "phone", _("Phone number")
    EMAIL = "email", _("E-mail address")
    HANDLE = "messenger_handle", _("Messenger handle")
    LINK = "link", _("Link outside the allow-list")


DETECTOR_CATEGORIES = frozenset(
    {WordCategory.PHONE, WordCategory.EMAIL, WordCategory.HANDLE, WordCategory.LINK}
)


class WordAction(models.TextChoices):
    """What a match does to a send, most severe first. ``allow`` exists only in a shop's
    override: the organisation's word (or category) does not apply in that shop."""

    BLOCK = "block", _("Block")
    MASK = "mask", _("Mask")
    FLAG = "flag", _("Flag")
    ALLOW = "allow", _("Allow")


class WordList(models.Model):
    """An organisation's list (``shop_account`` null) or one shop's override of it."""

    organisation = models.ForeignKey(
        "inbox.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    shop_account = models.ForeignKey(
        "inbox.ShopAccount", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("word list")
        verbose_name_plural = _("word lists")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation"],
                condition=Q(shop_account__isnull=True),
                name="wordlist_one_per_org",
            ),
            models.UniqueConstraint(fields=["shop_account"], name="wordlist_one_per_shop"),
        ]

    def __str__(self) -> str:
        return f"word list {self.organisation_id}/{self.shop_account_id or '-'} v{self.version}"


class WordEntry(models.Model):
    """One word or phrase. ``action`` empty means the category's action applies."""

    word_list = models.ForeignKey(WordList, on_delete=models.CASCADE, related_name="entries")
    word = models.CharField(_("word"), max_length=100)
    # The shared normalisation of ``word`` (monitoring/words/normalise.py): the key entries
    # are unique on, so "ＷｅＣｈａｔ" and "wechat" are one entry.
    normalised = models.CharField(max_length=100)
    category = models.CharField(_("category"), max_length=24, choices=WordCategory.choices)
    action = models.CharField(
        _("action"), max_length=8, choices=WordAction.choices, blank=True, default=""
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("word")
        verbose_name_plural = _("words")
        constraints = [
            models.UniqueConstraint(fields=["word_list", "normalised"], name="wordentry_unique")
        ]

    def __str__(self) -> str:
        return self.word


class CategoryRule(models.Model):
    """The action of a category (words and detectors) in a list; a category without a rule
    takes the shipped default (monitoring/words/defaults.py)."""

    word_list = models.ForeignKey(WordList, on_delete=models.CASCADE, related_name="rules")
    category = models.CharField(_("category"), max_length=24, choices=WordCategory.choices)
    action = models.CharField(_("action"), max_length=8, choices=WordAction.choices)

    class Meta:
        verbose_name = _("category rule")
        verbose_name_plural = _("category rules")
        constraints = [
            models.UniqueConstraint(fields=["word_list", "category"], name="categoryrule_unique")
        ]

    def __str__(self) -> str:
        return f"{self.category}: {self.action}"


class AllowKind(models.TextChoices):
    PHRASE = "phrase", _("Phrase never matched")
    DOMAIN = "domain", _("Allowed link domain")


class AllowEntry(models.Model):
    """A phrase inside which no word matches (a dismissed false positive, say) or a domain the
    link detector lets through."""

    word_list = models.ForeignKey(WordList, on_delete=models.CASCADE, related_name="allowed")
    kind = models.CharField(_("kind"), max_length=8, choices=AllowKind.choices)
    value = models.CharField(_("value"), max_length=200)
    normalised = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("allow-list entry")
        verbose_name_plural = _("allow-list entries")
        constraints = [
            models.UniqueConstraint(
                fields=["word_list", "kind", "normalised"], name="allowentry_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.value}"


class SendSource(models.TextChoices):
    """Where a screened text was going."""

    REPLY = "reply", _("Reply")
    CASE_DECISION = "case_decision", _("After-sales decision message")
    QUICK_REPLY = "quick_reply", _("Quick reply saved")
    BULK = "bulk", _("Bulk send")
    AUTOMATIC = "automatic", _("Automatic reply")


class ViolationStatus(models.TextChoices):
    OPEN = "open", _("To review")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    DISMISSED = "dismissed", _("Dismissed (false positive)")
    ESCALATED = "escalated", _("Escalated")


class Violation(SealedRow):
    """A send that matched: who, where, what was matched and what the monitor did."""

    organisation = models.ForeignKey(
        "inbox.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    shop_account = models.ForeignKey(
        "inbox.ShopAccount", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    conversation = models.ForeignKey(
        "inbox.Conversation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)
    source = models.CharField(_("source"), max_length=16, choices=SendSource.choices)
    action = models.CharField(_("action taken"), max_length=8, choices=WordAction.choices)
    # The most severe match's category (for counts); ``matches`` has them all.
    category = models.CharField(_("category"), max_length=24, choices=WordCategory.choices)
    text = EncryptedTextField(_("text"))
    # [{"start": 4, "end": 10, "category": "off_platform", "action": "block", "word": "wechat"}]
    matches = models.JSONField(default=list)
    status = models.CharField(
        _("status"), max_length=16, choices=ViolationStatus.choices, default=ViolationStatus.OPEN
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("violation")
        verbose_name_plural = _("violations")
        indexes = [
            models.Index(fields=["organisation", "status", "-created_at"], name="violation_queue"),
            models.Index(fields=["organisation", "actor", "created_at"], name="violation_actor"),
        ]

    def __str__(self) -> str:
        return f"violation {self.pk} {self.category}/{self.action}"


class RiskTag(models.TextChoices):
    """What a buyer message was found to carry."""

    OFF_PLATFORM = "off_platform", _("Asks to move off-platform")
    BAD_REVIEW = "bad_review_threat", _("Threatens a bad review")
    COMPLAINT = "complaint_threat", _("Threatens a complaint")
    ABUSE = "abuse", _("Abusive")


class BuyerRisk(models.Model):
    """A risk tag on a conversation, raised by one buyer message (one row per message and tag)."""

    organisation = models.ForeignKey(
        "inbox.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    shop_account = models.ForeignKey(
        "inbox.ShopAccount", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    conversation = models.ForeignKey(
        "inbox.Conversation", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    message = models.ForeignKey(
        "inbox.Message", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    tag = models.CharField(_("risk"), max_length=24, choices=RiskTag.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("buyer risk")
        verbose_name_plural = _("buyer risks")
        constraints = [models.UniqueConstraint(fields=["message", "tag"], name="buyerrisk_unique")]
        indexes = [models.Index(fields=["conversation", "tag"], name="buyerrisk_conversation")]

    def __str__(self) -> str:
        return f"{self.tag} on {self.conversation_id}"
