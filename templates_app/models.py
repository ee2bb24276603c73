"""Quick replies, shared materials and their usage records."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Scope(models.TextChoices):
    PERSONAL = "personal", _("Personal")
    TEAM = "team", _("Team (some shop accounts)")
    ORGANISATION = "organisation", _("Organisation-wide")


class QuickReply(models.Model):
    """A canned answer with ``{{ variable }}`` placeholders, in one or more languages.

    ``body`` is the text in ``default_language``; ``translations`` maps other language codes to
    their bodies; the picker searches their words in memory (``templates_app.library``).
    ``usage_count`` is the number of usage rows, kept for "most used first".
    Scope: personal (``owner``), team (``shop_accounts``), organisation.
    """

    organisation = models.ForeignKey(
        "inbox.Organisation", on_delete=models.CASCADE, related_name="quick_replies"
    )
    scope = models.CharField(_("scope"), max_length=16, choices=Scope.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="personal_quick_replies",
    )
    shop_accounts = models.ManyToManyField(
        "inbox.ShopAccount", blank=True, related_name="quick_replies"
    )
    title = models.CharField(_("title"), max_length=120)
    shortcut = models.CharField(_("shortcut"), max_length=40)
    category = models.CharField(_("category"), max_length=60, blank=True)
    default_language = models.CharField(_("default language"), max_length=16, default="en")
    body = models.TextField(_("body"))
    translations = models.JSONField(_("other languages"), default=dict, blank=True)
    custom_fields = models.JSONField(_("custom fields"), default=list, blank=True)
    materials: models.ManyToManyField[Material, Any] = models.ManyToManyField(
        "Material", blank=True, related_name="quick_replies"
    )
    usage_count = models.PositiveIntegerField(default=0, editable=False)
    is_archived = models.BooleanField(_("archived"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("quick reply")
        verbose_name_plural = _("quick replies")
        constraints = [
            models.CheckConstraint(
                condition=Q(scope="personal", owner__isnull=False)
                | (~Q(scope="personal") & Q(owner__isnull=True)),
                name="quick_reply_owner_iff_personal",
            )
        ]
        indexes = [
            # One organisation's replies: the in-memory library's scans, exports; in usage order
            # for SQL reads of the active ones (the picker itself answers from memory).
            models.Index(
                fields=["organisation", "is_archived", "-usage_count", "id"],
                name="qr_picker",
            ),
            models.Index(fields=["owner", "is_archived"], name="qr_owner"),
        ]

    def __str__(self) -> str:
        return f"{self.shortcut}: {self.title}"

    @property
    def bodies(self) -> dict[str, str]:
        """Every language version, the default first."""
        return {self.default_language: self.body, **(self.translations or {})}


class LibraryRevision(models.Model):
    """A random number that the services replace whenever an organisation's quick replies or
    materials change: each process compares it on every picker and render call to know whether
    its in-memory copy of the library (``templates_app.library``) is still current. Random, not
    a counter, so a rolled-back change or a reused organisation id never repeats one."""

    organisation = models.OneToOneField(
        "inbox.Organisation", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    revision = models.BigIntegerField()

    class Meta:
        verbose_name = _("quick-reply library revision")
        verbose_name_plural = _("quick-reply library revisions")

    def __str__(self) -> str:
        return f"library of {self.organisation_id}: {self.revision}"


class QuickReplyUsage(models.Model):
    """One use of a quick reply in a reply being sent (counts per template and per agent)."""

    organisation = models.ForeignKey(
        "inbox.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    quick_reply = models.ForeignKey(QuickReply, on_delete=models.CASCADE, related_name="usages")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    conversation = models.ForeignKey(
        "inbox.Conversation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    language = models.CharField(max_length=16, blank=True)
    used_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("quick reply usage")
        verbose_name_plural = _("quick reply usages")
        indexes = [models.Index(fields=["organisation", "used_at"], name="qr_usage_org_time")]

    def __str__(self) -> str:
        return f"use of {self.quick_reply_id} by {self.user_id}"


class MaterialKind(models.TextChoices):
    IMAGE = "image", _("Image")
    FILE = "file", _("File")
    LINK = "link", _("Link")


class Material(models.Model):
    """A shared image, file or link (size chart, assembly video, return instructions).

    Uploaded content is stored once under its SHA-256 (``blob``), whoever uploads it; inside one
    scope the same content is one row.
    """

    organisation = models.ForeignKey(
        "inbox.Organisation", on_delete=models.CASCADE, related_name="materials"
    )
    scope = models.CharField(_("scope"), max_length=16, choices=Scope.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="personal_materials",
    )
    shop_accounts = models.ManyToManyField(
        "inbox.ShopAccount", blank=True, related_name="materials"
    )
    kind = models.CharField(_("kind"), max_length=8, choices=MaterialKind.choices)
    name = models.CharField(_("name"), max_length=200)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    blob = models.CharField(max_length=200, blank=True)  # storage path, shared by equal content
    url = models.URLField(_("link"), max_length=1000, blank=True)
    is_archived = models.BooleanField(_("archived"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("material")
        verbose_name_plural = _("materials")
        constraints = [
            models.CheckConstraint(
                condition=Q(scope="personal", owner__isnull=False)
                | (~Q(scope="personal") & Q(owner__isnull=True)),
                name="material_owner_iff_personal",
            )
        ]
        indexes = [models.Index(fields=["organisation", "is_archived", "-id"], name="mat_org")]

    def __str__(self) -> str:
        return f"{self.kind}: {self.name}"

    @property
    def message_type(self) -> str:
        """How it goes to the buyer: images as IMAGE messages, files and links as a link."""
        return "IMAGE" if self.kind == MaterialKind.IMAGE else "LINK"
