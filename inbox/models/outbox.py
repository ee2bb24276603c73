"""The outbox: every action the product takes on a platform or an outside endpoint, as a row.

Saleor's ``EventDelivery`` / ``EventDeliveryAttempt``, for our kinds of work: a reply, marking a
conversation read, after-sales decisions and alert deliveries next. The guarantees (a lease
before any I/O, attempts, reading the platform before a retry, the stuck-action sweep, giving up
visibly) are written once, in ``inbox/services/outbox.py``; each kind is a small handler.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OutboxState(models.TextChoices):
    """The same words as a reply's ``delivery_state``, which mirrors its action's."""

    PENDING = "pending", _("Pending")  # not tried yet, or queued again by hand
    SENDING = "sending", _("Sending")  # an attempt is under way or its retry is waiting
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")  # given up, with the reason; a kind may queue it again


OPEN_STATES = (OutboxState.PENDING, OutboxState.SENDING)


class OutboxAction(models.Model):
    """One action to take on a platform or an outside endpoint, and where it stands.

    The subject is named by id columns, never copied: ``message`` for a reply, ``conversation``
    for marking read, ``subject_id`` (with ``params``) for a kind whose subject lives in another
    app. ``params`` holds ids and choices only, never personal data. ``next_attempt_at`` is when
    the outbox means to try next (now for a new action, the end of the lease while an attempt
    runs, the end of the retry countdown); the sweep goes by it.
    """

    kind = models.CharField(max_length=32)
    organisation = models.ForeignKey(
        "inbox.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    shop_account = models.ForeignKey(
        "inbox.ShopAccount", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    conversation = models.ForeignKey(
        "inbox.Conversation", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    message = models.ForeignKey(
        "inbox.Message",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="outbox_actions",
    )
    subject_id = models.BigIntegerField(null=True, blank=True)
    params = models.JSONField(default=dict, blank=True)
    state = models.CharField(
        max_length=10, choices=OutboxState.choices, default=OutboxState.PENDING
    )
    # Requests for the same thing while one is still waiting share it (marking a conversation
    # read twice before the first went out calls the platform once).
    coalesce_key = models.CharField(max_length=64, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    result = models.CharField(max_length=128, blank=True)  # e.g. the platform's message id
    failure_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # When it was last asked for: created, or reopened by an agent's retry. A kind's max_age
    # (the give-up) counts from here, so a retry the day after gets its own day.
    opened_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("outbox action")
        verbose_name_plural = _("outbox actions")
        constraints = [
            # A kind about a message (a reply) has one action per message, retried in place.
            models.UniqueConstraint(
                fields=["kind", "message"],
                condition=Q(message__isnull=False),
                name="uniq_outbox_message",
            ),
            models.UniqueConstraint(
                fields=["kind", "coalesce_key"],
                condition=Q(state="pending") & ~Q(coalesce_key=""),
                name="uniq_outbox_waiting",
            ),
        ]
        indexes = [
            # The sweep and the give-up read only open actions.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state__in=["pending", "sending"]),
                name="outbox_open_due",
            ),
            # A kind's action by its subject (an after-sales decision's state: the queue's case
            # rows, the case page and the buyer panel ask for it per case, among every reply).
            models.Index(
                fields=["kind", "subject_id"],
                condition=Q(subject_id__isnull=False),
                name="outbox_subject",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} action {self.pk}: {self.state}"


class OutboxAttempt(models.Model):
    """One try at an action. Committed before any I/O (its lease); ``finished_at`` stays null
    if the worker died during it."""

    action = models.ForeignKey(OutboxAction, on_delete=models.CASCADE, related_name="attempts")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, blank=True)  # sent | adopted | retry | failed | error
    error = models.CharField(max_length=300, blank=True)
    # What the platform answered (its id of the sent message, ...) when recording it then
    # failed: the next attempt adopts it without asking the platform again.
    result = models.CharField(max_length=128, blank=True, default="")

    class Meta:
        verbose_name = _("outbox attempt")
        verbose_name_plural = _("outbox attempts")

    def __str__(self) -> str:
        return f"attempt {self.pk} of action {self.action_id}: {self.outcome or 'running'}"
