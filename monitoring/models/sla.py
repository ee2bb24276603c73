"""The SLA tracker's records: policies and business calendars (what is due when), deadlines
(one per request and target, due and warning times computed once and stored), alerts (one per
deadline and threshold, exactly once), who was told (the bell) and where alerts go (channels).

How they move: docs/sla.md. In short, ``monitoring.sla.deadlines`` opens a deadline when a buyer
message or an after-sales case needs a human answer and closes it when the answer is delivered;
``monitoring.sla.sweep`` (every minute) finds by ``deadline_sweep`` the deadlines whose
``next_alert_at`` has come, records one ``SlaAlert`` per threshold (the unique constraint is the
de-duplication) and hands it to the channels; each channel's delivery is an ``AlertDelivery``
whose attempts are an outbox action (kind ``sla_alert_delivery``, ``subject_id`` = its id).
"""

from __future__ import annotations

from datetime import time

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from scrm.fields import EncryptedTextField, SealedRow

# Defaults, in minutes: TikTok counts a first response within 24 hours (a 12-hour target is the
# stricter variant sellers choose); warnings 4 h and 1 h before the due time.
DAY_MINUTES = 24 * 60
DEFAULT_WARNING_MINUTES = (240, 60)


def default_warning_minutes() -> list[int]:
    return list(DEFAULT_WARNING_MINUTES)


def default_working_hours() -> dict[str, list[list[str]]]:
    """Monday (``"0"``) to Friday 09:00–18:00 in the shop's time zone; the weekend off."""
    return {str(day): [["09:00", "18:00"]] if day < 5 else [] for day in range(7)}


def default_alert_kinds() -> list[str]:
    """A new channel takes every kind (a channel made before follow-up reminders keeps the
    kinds it had: adding one is a supervisor's choice)."""
    return list(AlertKind.values)


class DeadlineKind(models.TextChoices):
    FIRST_REPLY = "first_reply", _("First reply")
    NEXT_REPLY = "next_reply", _("Next reply")
    AFTER_SALES = "after_sales", _("After-sales decision")
    SAME_DAY = "same_day", _("Same-day clear")


class SlaPolicy(models.Model):
    """The targets of an organisation (``shop_account`` null: every shop without its own) or one
    shop account's override (a whole policy: a shop either follows the organisation's or has
    all of its own).

    Each N-minute target counts wall-clock time (elapsed time, whatever daylight saving does) or,
    with its ``*_business_hours`` flag, only the shop calendar's working time. The same-day
    target is the end of the shop's working day; a request after ``same_day_cutoff`` (shop
    local time; the end of the working day when that is earlier) or outside a working day is
    due at the end of the next working day.
    """

    organisation = models.ForeignKey(
        "inbox.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    shop_account = models.ForeignKey(
        "inbox.ShopAccount", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    first_reply_minutes = models.PositiveIntegerField(
        _("first reply within (minutes)"), default=DAY_MINUTES
    )
    first_reply_business_hours = models.BooleanField(
        _("first reply: count working hours only"), default=False
    )
    next_reply_minutes = models.PositiveIntegerField(
        _("next reply within (minutes)"), default=DAY_MINUTES
    )
    next_reply_business_hours = models.BooleanField(
        _("next reply: count working hours only"), default=False
    )
    after_sales_minutes = models.PositiveIntegerField(
        _("after-sales decision within (minutes)"), default=DAY_MINUTES
    )
    after_sales_business_hours = models.BooleanField(
        _("after-sales decision: count working hours only"), default=False
    )
    same_day_enabled = models.BooleanField(_("same-day clear"), default=True)
    same_day_cutoff = models.TimeField(_("same-day cut-off (shop time)"), default=time(17, 0))
    # Minutes before the due time at which a warning alert goes out, largest first.
    warning_minutes = models.JSONField(
        _("warnings (minutes before due)"), default=default_warning_minutes
    )
    # Platform robot and auto-replies close a reply deadline only when this is on.
    robot_replies_close = models.BooleanField(
        _("robot and auto-replies count as an answer"), default=False
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation"],
                condition=Q(shop_account__isnull=True),
                name="uniq_sla_policy_org",
            ),
            models.UniqueConstraint(
                fields=["shop_account"],
                condition=Q(shop_account__isnull=False),
                name="uniq_sla_policy_shop",
            ),
        ]

    def __str__(self) -> str:
        return f"SLA policy {self.pk} (shop {self.shop_account_id or '-'})"


class BusinessCalendar(models.Model):
    """One shop account's working week and holidays. Its time zone is the shop account's
    (``ShopAccount.time_zone``). ``working_hours``: ``{"0".."6" (Monday = "0"): [["HH:MM",
    "HH:MM"], ...]}``, the day's working intervals in shop time, in order, none overlapping; an
    empty list is a day off. A shop without a row works ``default_working_hours``."""

    organisation = models.ForeignKey(
        "inbox.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    shop_account = models.OneToOneField(
        "inbox.ShopAccount", on_delete=models.CASCADE, related_name="+"
    )
    working_hours = models.JSONField(_("working hours"), default=default_working_hours)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")

    def __str__(self) -> str:
        return f"calendar of shop {self.shop_account_id}"


class HolidaySource(models.TextChoices):
    MANUAL = "manual", _("Entered")
    ICAL = "ical", _("Imported")


class Holiday(models.Model):
    """A whole day off in the shop's time zone (no working time, so no same-day end)."""

    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="holidays"
    )
    date = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=200, blank=True)
    source = models.CharField(
        max_length=8, choices=HolidaySource.choices, default=HolidaySource.MANUAL
    )

    class Meta:
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="uniq_holiday_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class DeadlineState(models.TextChoices):
    OPEN = "open", _("Open")
    MET = "met", _("Met")  # answered by the due time
    MISSED = "missed", _("Missed")  # answered after the due time
    ENDED = "ended", _("Ended unanswered")  # resolved without an answer, case closed, superseded


class Deadline(models.Model):
    """One target for one request: a conversation's reply (first or next) or an after-sales
    case's decision, and the same-day target of either.

    ``started_at`` is the request's time (the buyer message that opened it, the case's
    creation); ``due_at`` and the alert thresholds were computed from it, the policy and the
    calendar when it opened (``rule`` records what was applied, for display and recompute).
    ``next_alert_at`` is the next threshold not yet alerted (a warning, then ``due_at``); null
    once the breach is alerted or the deadline closed, so the sweep's index holds only what it
    must look at. At most one open deadline per subject and kind.
    """

    organisation = models.ForeignKey(
        "inbox.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    shop_account = models.ForeignKey(
        "inbox.ShopAccount", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    kind = models.CharField(max_length=16, choices=DeadlineKind.choices)
    conversation = models.ForeignKey(
        "inbox.Conversation",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # the partial indexes below serve
    )
    case = models.ForeignKey(
        "inbox.AfterSalesCase",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    started_at = models.DateTimeField()
    due_at = models.DateTimeField()
    next_alert_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(
        max_length=8, choices=DeadlineState.choices, default=DeadlineState.OPEN
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    # e.g. {"minutes": 1440, "business_hours": false, "warnings": [240, 60], "policy": 3,
    #       "platform_deadline": true}
    rule = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("deadline")
        verbose_name_plural = _("deadlines")
        constraints = [
            models.CheckConstraint(
                condition=Q(conversation__isnull=False, case__isnull=True)
                | Q(conversation__isnull=True, case__isnull=False),
                name="deadline_one_subject",
            ),
            models.UniqueConstraint(
                fields=["conversation", "kind"],
                condition=Q(state="open", conversation__isnull=False),
                name="uniq_open_deadline_conversation",
            ),
            models.UniqueConstraint(
                fields=["case", "kind"],
                condition=Q(state="open", case__isnull=False),
                name="uniq_open_deadline_case",
            ),
        ]
        indexes = [
            # The sweep: what has a threshold at or before now.
            models.Index(
                fields=["next_alert_at"],
                condition=Q(next_alert_at__isnull=False),
                name="deadline_sweep",
            ),
            # A shop's open deadlines by due time (at risk, due today, recompute).
            models.Index(
                fields=["shop_account", "due_at"],
                condition=Q(state="open"),
                name="deadline_shop_open",
            ),
            # A shop's closed deadlines by due time (breached today, the figures).
            models.Index(fields=["shop_account", "kind", "due_at"], name="deadline_shop_due"),
            models.Index(fields=["conversation", "kind"], name="deadline_conversation"),
            models.Index(fields=["case", "kind"], name="deadline_case"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} deadline {self.pk} due {self.due_at:%Y-%m-%d %H:%M}"


class AlertKind(models.TextChoices):
    WARNING = "warning", _("Warning")
    BREACH = "breach", _("Breach")
    DIGEST = "digest", _("Same-day digest")
    FOLLOW_UP = "followup", _("Follow-up due")
    TREND = "trend", _("Problem trend")


class SlaAlert(models.Model):
    """One alert, recorded exactly once: per deadline, kind and threshold (``threshold_minutes``
    before the due time; 0 for the breach), or per shop and local day for the same-day digest;
    a follow-up reminder (``follow_up``; its shop, or none when the promise was made outside
    any shop) once per time it comes due (``inbox.services.profiles.reminders``).
    ``assignee``: whom the deadline's subject was assigned to when the alert was made (null:
    the shop's agents were told). ``escalated``: the shop's supervisors were told too (a breach;
    or a warning nobody could be auto-assigned to)."""

    organisation = models.ForeignKey(
        "inbox.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    shop_account = models.ForeignKey(
        "inbox.ShopAccount", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    deadline = models.ForeignKey(
        Deadline, null=True, blank=True, on_delete=models.CASCADE, related_name="alerts"
    )
    follow_up = models.ForeignKey(
        "inbox.FollowUp", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # A problem trend (issue 17's problem log): the finding it tells, once.
    trend = models.ForeignKey(
        "monitoring.TrendFinding",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    kind = models.CharField(max_length=8, choices=AlertKind.choices)
    threshold_minutes = models.PositiveIntegerField(default=0)
    digest_date = models.DateField(null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    escalated = models.BooleanField(default=False)
    data = models.JSONField(default=dict, blank=True)  # ids and counts only, never personal data
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("SLA alert")
        verbose_name_plural = _("SLA alerts")
        constraints = [
            models.UniqueConstraint(
                fields=["deadline", "kind", "threshold_minutes"],
                condition=Q(deadline__isnull=False),
                name="uniq_alert_per_threshold",
            ),
            models.UniqueConstraint(
                fields=["shop_account", "digest_date"],
                condition=Q(kind="digest"),
                name="uniq_digest_per_shop_day",
            ),
            # Only a follow-up reminder may be of no shop; only it names a follow-up.
            models.CheckConstraint(
                condition=Q(kind="followup", follow_up__isnull=False)
                | Q(shop_account__isnull=False, follow_up__isnull=True),
                name="alert_shop_unless_follow_up",
            ),
            models.UniqueConstraint(
                fields=["trend"], condition=Q(trend__isnull=False), name="uniq_alert_per_trend"
            ),
        ]
        indexes = [
            models.Index(fields=["organisation", "-created_at"], name="alert_org_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} alert {self.pk}"


class AlertReceipt(models.Model):
    """An alert in one person's bell; ``read_at`` null while unread."""

    alert = models.ForeignKey(SlaAlert, on_delete=models.CASCADE, related_name="receipts")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("alert receipt")
        verbose_name_plural = _("alert receipts")
        constraints = [models.UniqueConstraint(fields=["alert", "user"], name="uniq_alert_receipt")]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="receipt_bell"),
            models.Index(fields=["user"], condition=Q(read_at__isnull=True), name="receipt_unread"),
        ]

    def __str__(self) -> str:
        return f"alert {self.alert_id} → user {self.user_id}"


class AlertChannelKind(models.TextChoices):
    EMAIL = "email", _("E-mail")
    FEISHU = "feishu", _("Feishu (Lark) bot")
    DINGTALK = "dingtalk", _("DingTalk bot")
    SLACK = "slack", _("Slack incoming webhook")
    WEBHOOK = "webhook", _("JSON webhook")


class AlertChannel(SealedRow):
    """Where an organisation's alerts go besides the inbox: e-mail addresses or a webhook URL.

    ``target`` (the URL, which carries the bot's token, or the addresses) and ``secret`` (the
    bot's signing secret; the HMAC key of a JSON webhook) are encrypted at rest. ``shop_account``
    null: every shop of the organisation. The failure fields say how it has been going, so a
    channel that keeps failing shows to supervisors.
    """

    organisation = models.ForeignKey(
        "inbox.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    shop_account = models.ForeignKey(
        "inbox.ShopAccount", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=AlertChannelKind.choices)
    name = models.CharField(_("name"), max_length=100)
    target = EncryptedTextField(_("address or URL"))
    secret = EncryptedTextField(_("signing secret"), blank=True, default="")
    alert_kinds = models.JSONField(_("alerts sent"), default=default_alert_kinds)
    is_active = models.BooleanField(_("active"), default=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_failure_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("alert channel")
        verbose_name_plural = _("alert channels")
        indexes = [models.Index(fields=["organisation", "is_active"], name="alert_channel_org")]

    def __str__(self) -> str:
        return f"{self.kind} channel {self.name}"


class AlertDelivery(models.Model):
    """One alert sent to one channel, once (unique). Its attempts and state are its outbox
    action's (kind ``sla_alert_delivery``, ``subject_id`` = this id)."""

    alert = models.ForeignKey(SlaAlert, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.ForeignKey(AlertChannel, on_delete=models.CASCADE, related_name="deliveries")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("alert delivery")
        verbose_name_plural = _("alert deliveries")
        constraints = [
            models.UniqueConstraint(fields=["alert", "channel"], name="uniq_alert_delivery")
        ]

    def __str__(self) -> str:
        return f"alert {self.alert_id} → channel {self.channel_id}"
