"""The problem log (issue 17): what each resolved conversation and closed after-sales case was
about (an issue type and the SKU), the organisation's problem-log settings, the supervisors'
trend alert rules, the trends they found (one alert each) and the weekly e-mails sent.

``ProblemRecord.quote`` is the buyer's own words: personal data, encrypted and bound to its
row. Everything else here is ids, enumerated values, SKUs and counts.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from scrm.fields import EncryptedTextField, SealedRow


class IssueType(models.TextChoices):
    SIZE = "size", _("Size")
    COLOUR = "colour", _("Colour")
    DAMAGED = "damaged", _("Damaged")
    LATE = "late", _("Late")
    MISSING_PART = "missing_part", _("Missing part")
    NOT_AS_DESCRIBED = "not_as_described", _("Not as described")
    OTHER = "other", _("Other")


class ProblemSource(models.TextChoices):
    CONVERSATION = "conversation", _("Conversation")
    CASE = "case", _("After-sales case")


class ProblemRecord(SealedRow):
    """One resolved conversation's or closed case's problem: at most one per conversation and
    one per case (resolving again updates it). ``suggested_type``/``suggested_sku``: what the
    rules found in the text; ``issue_type``/``sku``: what stands (the suggestion until a person
    sets them, ``set_by``). ``local_date``: the shop-local day it was recorded (the weekly
    report's and the trends' day)."""

    organisation = models.ForeignKey(
        "inbox.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    shop_account = models.ForeignKey(
        "inbox.ShopAccount", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    source = models.CharField(max_length=12, choices=ProblemSource.choices)
    conversation = models.ForeignKey(
        "inbox.Conversation", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    case = models.ForeignKey(
        "inbox.AfterSalesCase", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    issue_type = models.CharField(max_length=20, choices=IssueType.choices)
    sku = models.CharField(max_length=128, blank=True)
    suggested_type = models.CharField(max_length=20, choices=IssueType.choices)
    suggested_sku = models.CharField(max_length=128, blank=True)
    quote = EncryptedTextField(_("buyer's words"), blank=True, default="")
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    local_date = models.DateField()

    class Meta:
        verbose_name = _("problem record")
        verbose_name_plural = _("problem records")
        constraints = [
            models.UniqueConstraint(
                fields=["conversation"],
                condition=Q(conversation__isnull=False),
                name="uniq_problem_conversation",
            ),
            models.UniqueConstraint(
                fields=["case"], condition=Q(case__isnull=False), name="uniq_problem_case"
            ),
            models.CheckConstraint(
                condition=Q(source="conversation", conversation__isnull=False)
                | Q(source="case", case__isnull=False),
                name="problem_has_subject",
            ),
        ]
        indexes = [
            models.Index(fields=["shop_account", "local_date"], name="problem_shop_day"),
        ]

    def __str__(self) -> str:
        return f"problem {self.pk}: {self.issue_type}"


class ProblemSettings(models.Model):
    """An organisation's problem-log settings (none stored: the defaults)."""

    organisation = models.OneToOneField(
        "inbox.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    require_issue_type = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("problem-log settings")
        verbose_name_plural = _("problem-log settings")

    def __str__(self) -> str:
        return f"problem-log settings of organisation {self.organisation_id}"


class TrendKind(models.TextChoices):
    SKU_RISING = "sku_rising", _("An SKU's problems rise several days in a row")
    SHARE_GROWTH = "share_growth", _("An issue type's share grows week over week")


class TrendRule(models.Model):
    """A supervisor's trend alert rule. ``sku_rising``: an SKU's problems per shop-local day
    rise ``days`` days in a row (each day more than the day before), ending with at least
    ``min_count``. ``share_growth``: an issue type's share of the shop's problems in the last
    full week is at least ``factor`` times its share the week before, with at least
    ``min_count`` problems of it. ``shop_account`` null: every shop of the organisation."""

    organisation = models.ForeignKey(
        "inbox.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    shop_account = models.ForeignKey(
        "inbox.ShopAccount", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=TrendKind.choices)
    days = models.PositiveSmallIntegerField(default=3)
    factor = models.DecimalField(max_digits=4, decimal_places=2, default=2)
    min_count = models.PositiveSmallIntegerField(default=3)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("trend alert rule")
        verbose_name_plural = _("trend alert rules")
        indexes = [models.Index(fields=["organisation", "is_active"], name="trend_rule_org")]

    def __str__(self) -> str:
        return f"{self.kind} rule {self.pk}"


class TrendFinding(models.Model):
    """One trend a rule found in one shop, once: per rule, shop, subject (an SKU or an issue
    type) and the trend's first day (the first day of the rise; the later week's Monday), so a
    rise that goes on is the same trend. ``figures``: the counts and shares, no personal
    data."""

    rule = models.ForeignKey(TrendRule, on_delete=models.CASCADE, related_name="findings")
    shop_account = models.ForeignKey(
        "inbox.ShopAccount", on_delete=models.CASCADE, related_name="+"
    )
    subject = models.CharField(max_length=128)
    started_on = models.DateField()
    ended_on = models.DateField()
    figures = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("trend")
        verbose_name_plural = _("trends")
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "shop_account", "subject", "started_on"],
                name="uniq_trend_finding",
            )
        ]

    def __str__(self) -> str:
        return f"trend {self.pk}: {self.subject} from {self.started_on}"


class WeeklyReportMail(models.Model):
    """The weekly problem e-mail of one shop-local week (``week_start``: its Monday), sent
    once to the organisation's supervisors and admins."""

    shop_account = models.ForeignKey(
        "inbox.ShopAccount", on_delete=models.CASCADE, related_name="+"
    )
    week_start = models.DateField()
    recipients = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("weekly problem e-mail")
        verbose_name_plural = _("weekly problem e-mails")
        constraints = [
            models.UniqueConstraint(
                fields=["shop_account", "week_start"], name="uniq_weekly_problem_mail"
            )
        ]

    def __str__(self) -> str:
        return f"weekly problem e-mail of shop {self.shop_account_id}, {self.week_start}"
