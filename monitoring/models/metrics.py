"""The shop-score metrics' records (docs/insights.md): one fact per answered-or-waiting request
and one rollup row per shop, answerer, shop-local day and subject.

* ``ResponseFact``: a buyer's request and its first answer. A chat request is the first buyer
  message after the last answer of any kind (a person's or the platform's robot); an
  after-sales request is a case entering "needs a decision". Written in the transaction where
  the request or its answer is stored (``monitoring.metrics.facts``, subscribers of the inbox's
  moments), never recomputed from messages.
* ``MetricDay``: the facts of one (shop, answerer, local day, subject) summed, with a fixed
  histogram of answer times for the p90. Rebuilt from that day's facts when one of them
  changed (``MetricDirtyDay`` marks the day; ``monitoring.metrics.rollup`` rebuilds), so a
  60-day figure reads at most 60 rows per answerer, not every request.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

# Upper edges (seconds) of the answer-time histogram's buckets; the last bucket is open.
HISTOGRAM_EDGES: tuple[int, ...] = (
    15 * 60,
    30 * 60,
    3600,
    2 * 3600,
    4 * 3600,
    6 * 3600,
    8 * 3600,
    12 * 3600,
    16 * 3600,
    20 * 3600,
    24 * 3600,
    36 * 3600,
    48 * 3600,
    72 * 3600,
)
HISTOGRAM_BUCKETS = len(HISTOGRAM_EDGES) + 1


def empty_histogram() -> list[int]:
    return [0] * HISTOGRAM_BUCKETS


class MetricSubject(models.TextChoices):
    CHAT = "chat", _("Chat")
    AFTER_SALES = "after_sales", _("After-sales")


class FactState(models.TextChoices):
    OPEN = "open", _("Waiting")
    ANSWERED = "answered", _("Answered")
    ENDED = "ended", _("Ended without an answer")  # a case closed without our decision


class ResponseFact(models.Model):
    """One request and its first answer (``answered_at``; null while waiting).

    ``local_date``: the shop-local day of ``received_at`` (the day the request counts for).
    ``agent``: the person whose answer it was (null: the platform's robot, Seller Center, or
    not answered yet). ``automated``: a robot or auto-reply answered it (counts for the chat
    first response, never as an after-sales answer). At most one open fact per subject.
    """

    organisation = models.ForeignKey(
        "inbox.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    shop_account = models.ForeignKey(
        "inbox.ShopAccount", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    subject = models.CharField(max_length=12, choices=MetricSubject.choices)
    conversation = models.ForeignKey(
        "inbox.Conversation",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    case = models.ForeignKey(
        "inbox.AfterSalesCase",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    state = models.CharField(max_length=8, choices=FactState.choices, default=FactState.OPEN)
    received_at = models.DateTimeField()
    local_date = models.DateField()
    answered_at = models.DateTimeField(null=True, blank=True)
    seconds = models.PositiveIntegerField(null=True, blank=True)
    automated = models.BooleanField(default=False)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("response fact")
        verbose_name_plural = _("response facts")
        constraints = [
            models.CheckConstraint(
                condition=Q(conversation__isnull=False, case__isnull=True)
                | Q(conversation__isnull=True, case__isnull=False),
                name="fact_one_subject",
            ),
            models.UniqueConstraint(
                fields=["conversation"],
                condition=Q(state="open", conversation__isnull=False),
                name="uniq_open_fact_conversation",
            ),
            models.UniqueConstraint(
                fields=["case"],
                condition=Q(state="open", case__isnull=False),
                name="uniq_open_fact_case",
            ),
        ]
        indexes = [
            # A day's facts of a shop (the rollup's rebuild).
            models.Index(fields=["shop_account", "local_date"], name="fact_shop_day"),
            # A shop's waiting requests (what is due soon, the young ones left out of a rate).
            models.Index(
                fields=["shop_account", "received_at"],
                condition=Q(state="open"),
                name="fact_shop_open",
            ),
            models.Index(fields=["case"], name="fact_case"),
            models.Index(fields=["conversation"], name="fact_conversation"),
        ]

    def __str__(self) -> str:
        return f"{self.subject} fact {self.pk}"


class MetricDay(models.Model):
    """The facts of one shop, answerer (``agent_key``: the user id, 0 for nobody: unanswered,
    automated or Seller Center), shop-local day and subject, summed.

    ``requests``: requests received that day (ended ones excluded); ``answered``, ``within_24h``,
    ``automated`` count their answers; ``seconds_sum`` and ``seconds_max`` their answer times;
    ``histogram``: answered requests per bucket of ``HISTOGRAM_EDGES``. Chat rows also carry the
    day's chat ratings (``ratings``, ``ratings_low``: 1–3 stars) given on that day.
    """

    organisation = models.ForeignKey(
        "inbox.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    shop_account = models.ForeignKey(
        "inbox.ShopAccount", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    agent_key = models.PositiveIntegerField(default=0)
    date = models.DateField()
    subject = models.CharField(max_length=12, choices=MetricSubject.choices)
    requests = models.PositiveIntegerField(default=0)
    answered = models.PositiveIntegerField(default=0)
    within_24h = models.PositiveIntegerField(default=0)
    automated = models.PositiveIntegerField(default=0)
    seconds_sum = models.BigIntegerField(default=0)
    seconds_max = models.PositiveIntegerField(default=0)
    histogram = models.JSONField(default=empty_histogram)
    ratings = models.PositiveIntegerField(default=0)
    ratings_low = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("metric day")
        verbose_name_plural = _("metric days")
        constraints = [
            models.UniqueConstraint(
                fields=["shop_account", "date", "subject", "agent_key"], name="uniq_metric_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject} {self.date} shop {self.shop_account_id} agent {self.agent_key}"


class ChatRating(models.Model):
    """A buyer's rating of a chat (1–5 stars), once per platform message. ``local_date``: the
    shop-local day it was given; ``agent``: who last answered the buyer before it."""

    organisation = models.ForeignKey(
        "inbox.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    shop_account = models.ForeignKey(
        "inbox.ShopAccount", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    conversation = models.ForeignKey(
        "inbox.Conversation", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    message_id = models.BigIntegerField(unique=True)
    stars = models.PositiveSmallIntegerField()
    rated_at = models.DateTimeField()
    local_date = models.DateField()
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("chat rating")
        verbose_name_plural = _("chat ratings")
        indexes = [models.Index(fields=["shop_account", "local_date"], name="rating_shop_day")]

    def __str__(self) -> str:
        return f"rating {self.stars} ({self.pk})"


class MetricDirtyDay(models.Model):
    """A (shop, local day) whose facts changed since its rollup was built. No unique key: a
    marker never waits for another (``monitoring.metrics.facts.days_mark``), so a day may have
    two marks."""

    shop_account = models.ForeignKey(
        "inbox.ShopAccount", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    date = models.DateField()

    class Meta:
        verbose_name = _("metric day to rebuild")
        verbose_name_plural = _("metric days to rebuild")
        indexes = [models.Index(fields=["shop_account", "date"], name="metric_dirty_shop_day")]

    def __str__(self) -> str:
        return f"shop {self.shop_account_id} {self.date}"


class PlatformPerformance(models.Model):
    """The platform's own customer-service figures for a shop (Get Customer Service
    Performance) over its last 60 whole days, as last read: one row per shop, replaced by each
    read. Percentages as the platform gives them (0–100); null where it gave nothing."""

    organisation = models.ForeignKey(
        "inbox.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    shop_account = models.OneToOneField(
        "inbox.ShopAccount", on_delete=models.CASCADE, related_name="+"
    )
    start = models.DateField()
    end = models.DateField()  # exclusive
    sessions = models.PositiveIntegerField(null=True, blank=True)
    response_percentage = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    response_minutes = models.DecimalField(max_digits=10, decimal_places=1, null=True, blank=True)
    satisfaction_percentage = models.DecimalField(
        max_digits=6, decimal_places=2, null=True, blank=True
    )
    fetched_at = models.DateTimeField()

    class Meta:
        verbose_name = _("platform performance")
        verbose_name_plural = _("platform performance")

    def __str__(self) -> str:
        return f"platform figures of shop {self.shop_account_id}"
