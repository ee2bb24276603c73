"""Tenancy and access: organisations, their people (with a role) and their shop accounts."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from scrm import blind
from scrm.fields import EncryptedJSONField, SealedRow


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("Unknown time zone: %(tz)s"), params={"tz": value})


class Organisation(models.Model):
    """One seller company. Nothing of one organisation is ever visible to another."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), unique=True)
    # Supervisors and admins must sign in with a second factor (TOTP); set on the organisation
    # page. Agents may still turn it on for themselves.
    require_two_factor = models.BooleanField(
        _("require two-factor sign-in for supervisors and admins"), default=False
    )
    # The organisation's own clock and language: the default for people who have not chosen
    # theirs, and for reports and e-mails that are not addressed to one person.
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="UTC", validators=[validate_time_zone]
    )
    language = models.CharField(
        _("language"), max_length=16, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )
    # An unassigned conversation goes to the first agent who replies in it.
    assign_on_reply = models.BooleanField(
        _("assign an unassigned conversation to the agent who replies"), default=False
    )
    # The blind-index master this organisation's indexes are keyed from, and the one an index
    # rotation is moving them to (scrm/blind.py); set by inbox.services.customer_keys.
    index_key_id = models.CharField(
        max_length=40, blank=True, editable=False, default=blind.current_kid
    )
    index_key_next = models.CharField(max_length=40, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    ADMIN = "admin", _("Admin")
    SUPERVISOR = "supervisor", _("Supervisor")
    AGENT = "agent", _("Agent")


class Member(models.Model):
    """A person's place in one organisation: their role and their own time zone.

    Admins and supervisors see every shop account of their organisation; agents only the shop
    accounts they hold a ShopMembership for.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="member"
    )
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="members")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.AGENT)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="UTC", validators=[validate_time_zone]
    )
    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    # The person's interface language; blank follows the organisation's.
    language = models.CharField(
        _("language"), max_length=16, choices=settings.LANGUAGES, blank=True, default=""
    )

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")

    def __str__(self) -> str:
        return f"{self.user} ({self.role})"

    @property
    def sees_all_shops(self) -> bool:
        return self.role in (Role.ADMIN, Role.SUPERVISOR)

    @property
    def name(self) -> str:
        return self.display_name or self.user.get_username()


class Platform(models.TextChoices):
    TIKTOK_SHOP = "tiktok_shop", "TikTok Shop"


class AssignmentMode(models.TextChoices):
    MANUAL = "manual", _("Manual")
    ROUND_ROBIN = "round_robin", _("Round robin among online agents")
    LEAST_OPEN = "least_open", _("Fewest open conversations among online agents")


class ShopAccount(SealedRow):
    """A seller's account on one platform in one region, with its own time zone.

    ``credentials`` (app key/secret, tokens, shop cipher) are encrypted at rest.
    """

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="shop_accounts"
    )
    platform = models.CharField(_("platform"), max_length=32, choices=Platform.choices)
    platform_shop_id = models.CharField(_("platform shop id"), max_length=128)
    name = models.CharField(_("name"), max_length=200)
    region = models.CharField(_("region"), max_length=8, help_text=_("e.g. US, GB, MY"))
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="UTC", validators=[validate_time_zone]
    )
    is_active = models.BooleanField(_("active"), default=True)
    credentials = EncryptedJSONField(_("credentials"))
    assignment_mode = models.CharField(
        _("automatic assignment"),
        max_length=16,
        choices=AssignmentMode.choices,
        default=AssignmentMode.MANUAL,
    )
    # Round robin remembers whom it gave the last conversation to.
    last_assigned_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("shop account")
        verbose_name_plural = _("shop accounts")
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "platform_shop_id"], name="uniq_shop_per_platform"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_platform_display()} {self.region})"


class ShopMembership(models.Model):
    """Gives one person access to one shop account's conversations."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shop_memberships"
    )
    shop_account = models.ForeignKey(
        ShopAccount, on_delete=models.CASCADE, related_name="memberships"
    )
    # May see this shop's buyers' phones, e-mails, addresses and real names unmasked, one
    # value at a time, with a reason (audited). Off for everyone, supervisors included, until
    # an admin turns it on.
    can_reveal = models.BooleanField(_("may reveal customer data"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("shop membership")
        verbose_name_plural = _("shop memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "shop_account"], name="uniq_shop_membership")
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.shop_account}"


class Invitation(models.Model):
    """An admin's invitation for one person to join the organisation with a role and shops.

    Only a hash of the link's token is stored; the link works once, until ``expires_at``.
    """

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField(_("e-mail"))
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.AGENT)
    shop_accounts = models.ManyToManyField(ShopAccount, blank=True, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        indexes = [models.Index(fields=["organisation", "created_at"])]

    def __str__(self) -> str:
        return f"invitation #{self.pk} ({self.role})"
