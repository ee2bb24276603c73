"""Open the deadlines that requests already waiting when the SLA tracker was installed never
got (docs/sla.md, "Upgrading"): a conversation whose buyer waits with no open deadline, a case
that needs a decision with none. Deadlines otherwise open only at a moment (a buyer message, a
case's stage), so without this a conversation waiting at the upgrade would have no deadline
until its buyer wrote again.

Idempotent: a subject that has an open deadline is left alone, so running it twice, or while
ingestion opens deadlines, opens nothing twice (the subject's row is locked, and the partial
unique constraints stand behind that).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from inbox.models import AfterSalesCase, CaseStage, Conversation, ConversationStatus
from monitoring.models.sla import Deadline, DeadlineKind, DeadlineState
from monitoring.sla.deadlines import Rules, SubjectRef, deadlines_open, subject_settle
from monitoring.sla.lifecycle import reply_kind

BATCH = 200
SAME_DAY = DeadlineKind.SAME_DAY.value
AFTER_SALES = DeadlineKind.AFTER_SALES.value
WAITING_STATUSES = (
    ConversationStatus.OPEN.value,
    ConversationStatus.PENDING.value,
    ConversationStatus.SNOOZED.value,
)


@dataclass
class BackfillResult:
    conversations: int = 0
    cases: int = 0


def _open_deadline(field: str) -> Exists:
    return Exists(Deadline.objects.filter(**{field: OuterRef("pk")}, state=DeadlineState.OPEN))


def deadlines_backfill(*, now: datetime | None = None, batch: int = BATCH) -> BackfillResult:
    """Open the missing deadlines of every waiting conversation and every case needing a
    decision, in batches of ``batch`` subjects per transaction; returns how many subjects got
    deadlines.

    Keeps: started from the request's own time (``waiting_since``; the case's creation), so a
    request that waited through the upgrade is as late as it really is (alerted as breached at
    the next sweep when its due time has passed); a subject with an open deadline is skipped.
    """
    now = now or timezone.now()
    rules: dict[int, Rules] = {}
    return BackfillResult(
        conversations=_in_batches(_conversation_batch, now=now, batch=batch, rules=rules),
        cases=_in_batches(_case_batch, now=now, batch=batch, rules=rules),
    )


def _in_batches(step: Callable[..., list[int]], **kwargs: Any) -> int:
    done, after = 0, 0
    while True:
        with transaction.atomic():
            ids = step(after=after, **kwargs)
        done += len(ids)
        if len(ids) < kwargs["batch"]:
            return done
        after = ids[-1]


def _rules(rules: dict[int, Rules], shop_account_id: int) -> Rules:
    if shop_account_id not in rules:
        rules[shop_account_id] = Rules.for_shop(shop_account_id)
    return rules[shop_account_id]


def _conversation_batch(*, after: int, now: datetime, batch: int, rules: dict) -> list[int]:
    rows = list(
        Conversation.objects.filter(
            pk__gt=after, waiting_since__isnull=False, status__in=WAITING_STATUSES
        )
        .exclude(_open_deadline("conversation"))
        # a wait that had deadlines already (a robot's answer closed them, as the policy
        # allows): not a request the tracker missed
        .exclude(
            Exists(
                Deadline.objects.filter(
                    conversation=OuterRef("pk"), started_at__gte=OuterRef("waiting_since")
                )
            )
        )
        .order_by("pk")
        .select_for_update(of=("self",))[:batch]
    )
    for row in rows:
        ref = SubjectRef("conversation", row.pk, row.organisation_id, row.shop_account_id)
        shop_rules = _rules(rules, row.shop_account_id)
        started = row.waiting_since or now
        opened = deadlines_open(
            ref=ref,
            requests=[(reply_kind(row.pk), started), (SAME_DAY, started)],
            rules=shop_rules,
            existing=[],
            now=now,
        )
        subject_settle(ref, opened, now=now, time_zone=shop_rules.calendar.time_zone)
    return [row.pk for row in rows]


def _case_batch(*, after: int, now: datetime, batch: int, rules: dict) -> list[int]:
    rows = list(
        AfterSalesCase.objects.filter(pk__gt=after, stage=CaseStage.NEEDS_DECISION)
        .exclude(_open_deadline("case"))
        .order_by("pk")
        .select_for_update(of=("self",))[:batch]
    )
    for row in rows:
        ref = SubjectRef("case", row.pk, row.organisation_id, row.shop_account_id)
        shop_rules = _rules(rules, row.shop_account_id)
        started = row.platform_created_at
        opened = deadlines_open(
            ref=ref,
            requests=[(AFTER_SALES, started), (SAME_DAY, started)],
            rules=shop_rules,
            existing=[],
            platform_deadline=row.seller_deadline,
            now=now,
        )
        subject_settle(ref, opened, now=now, time_zone=shop_rules.calendar.time_zone)
    return [row.pk for row in rows]
