"""Automatic after-sales rules (issue 17): what a supervisor lets the product decide alone, the
dry runs that show what a rule would have done, the record of every case a rule acted on, and
the standard compensations suggested to agents per issue type."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class RuleDecision(models.TextChoices):
    NONE = "", _("No decision")
    APPROVE = "approve", _("Approve")
    REJECT = "reject", _("Reject")


class AfterSalesRule(models.Model):
    """One supervisor-defined rule: conditions on a case and the actions taken when they match.

    Rules of an organisation are tried in ``position`` order and the first that matches a case
    acts on it (first match: two rules never decide one case differently). Empty conditions
    match anything. ``version`` grows with every edit: enabling needs a dry run of the current
    version. ``quick_reply_id`` names a quick reply of templates_app (read through its
    selectors, never its tables).
    """

    organisation = models.ForeignKey(
        "inbox.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(_("name"), max_length=120)
    position = models.PositiveIntegerField(_("order"), default=0)
    is_enabled = models.BooleanField(_("enabled"), default=False)
    version = models.PositiveIntegerField(default=1)
    # conditions
    shop_account_ids = models.JSONField(default=list, blank=True)  # [] = every shop
    kinds = models.JSONField(default=list, blank=True)  # CaseKind values; [] = any
    reason_codes = models.JSONField(default=list, blank=True)  # the platform's codes; [] = any
    reason_words = models.JSONField(default=list, blank=True)  # any of them in the buyer's reason
    amount_min = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    amount_max = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=8, blank=True)  # required with an amount bound
    skus = models.JSONField(default=list, blank=True)  # sku ids or seller SKUs; [] = any
    refunds_month_min = models.PositiveSmallIntegerField(null=True, blank=True)
    refunds_ever_min = models.PositiveSmallIntegerField(null=True, blank=True)
    # actions
    decision = models.CharField(max_length=8, choices=RuleDecision.choices, blank=True)
    reject_reason = models.CharField(max_length=128, blank=True)  # the platform's reason name
    assign_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    tag = models.CharField(max_length=50, blank=True)
    quick_reply_id = models.PositiveIntegerField(null=True, blank=True)
    note = models.TextField(blank=True)  # written by the supervisor: no buyer data
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    enabled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("after-sales rule")
        verbose_name_plural = _("after-sales rules")
        indexes = [models.Index(fields=["organisation", "position", "id"], name="rule_order")]

    def __str__(self) -> str:
        return f"rule {self.pk} ({self.name})"


class RuleOutcome(models.TextChoices):
    APPLIED = "applied", _("Applied")
    TO_PERSON = "to_person", _("Left to a person")


class RuleApplication(models.Model):
    """A rule acted on a case: one row per case (rules act on a case once, whichever rule),
    written in the transaction of the actions, so replaying a case's events, a rule enabled
    later or a case that came to match another rule can never act twice. ``actions`` lists
    what was done (``decision``, ``reply``, ``assign``, ``tag``, ``note``); ``reason`` says why
    a case was left to a person (``reply_blocked``, ``reply_not_rendered``,
    ``decision_not_possible``, ``buyer_unknown``...), as a code, never text from the buyer."""

    organisation = models.ForeignKey(
        "inbox.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    rule = models.ForeignKey(AfterSalesRule, on_delete=models.CASCADE, related_name="applications")
    case = models.ForeignKey(
        "inbox.AfterSalesCase", on_delete=models.CASCADE, related_name="rule_applications"
    )
    rule_version = models.PositiveIntegerField()
    outcome = models.CharField(max_length=16, choices=RuleOutcome.choices)
    actions = models.JSONField(default=list)
    reason = models.CharField(max_length=40, blank=True)
    decision = models.ForeignKey(
        "inbox.AfterSalesDecision",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("rule application")
        verbose_name_plural = _("rule applications")
        constraints = [
            # Rules act on a case once, whichever rule (inbox/services/rules/apply.py).
            models.UniqueConstraint(fields=["case"], name="uniq_case_rule_application")
        ]
        indexes = [models.Index(fields=["rule", "-created_at"], name="rule_application_recent")]

    def __str__(self) -> str:
        return f"rule {self.rule_id} on case {self.case_id}: {self.outcome}"


class RuleDryRun(models.Model):
    """What a version of a rule would have done over a window: every matching case counted and
    totalled (``totals``: currency -> decimal string, the refunds an approving rule would have
    granted), the first ``DRY_RUN_ROWS`` kept case by case in ``rows`` (ids, kind, reason code,
    amount, currency, request time: no buyer data)."""

    organisation = models.ForeignKey(
        "inbox.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    rule = models.ForeignKey(AfterSalesRule, on_delete=models.CASCADE, related_name="dry_runs")
    rule_version = models.PositiveIntegerField()
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    matched = models.PositiveIntegerField(default=0)
    scanned = models.PositiveIntegerField(default=0)
    totals = models.JSONField(default=dict)
    rows = models.JSONField(default=list)
    elapsed_ms = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("rule dry run")
        verbose_name_plural = _("rule dry runs")
        indexes = [models.Index(fields=["rule", "-created_at"], name="rule_dry_run_recent")]

    def __str__(self) -> str:
        return f"dry run {self.pk} of rule {self.rule_id}"


class IssueType(models.TextChoices):
    """The problem log's issue types (issue 17); a case's is read from its reason code."""

    SIZE = "size", _("Size")
    COLOUR = "colour", _("Colour")
    DAMAGED = "damaged", _("Damaged")
    LATE = "late", _("Late or not received")
    MISSING_PART = "missing_part", _("Missing part")
    NOT_AS_DESCRIBED = "not_as_described", _("Not as described")
    OTHER = "other", _("Other")


class CompensationKind(models.TextChoices):
    COUPON = "coupon", _("Coupon")
    PARTIAL_REFUND = "partial_refund", _("Partial refund")
    RESEND = "resend", _("Resend")


class CompensationSuggestion(models.Model):
    """A standard compensation a supervisor offers for an issue type, with what it costs the
    shop; shown to agents on the cases of that issue type (suggested, never applied alone)."""

    organisation = models.ForeignKey(
        "inbox.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    issue_type = models.CharField(max_length=20, choices=IssueType.choices)
    kind = models.CharField(max_length=16, choices=CompensationKind.choices)
    title = models.CharField(_("title"), max_length=120)
    cost = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=8)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("compensation suggestion")
        verbose_name_plural = _("compensation suggestions")
        indexes = [
            models.Index(
                fields=["organisation", "issue_type", "position"], name="compensation_by_type"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.cost} {self.currency} ({self.issue_type})"
