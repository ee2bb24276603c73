"""Recomputing open deadlines after a policy, calendar or time-zone change (docs/sla.md).

Due and alert times are computed once, when a deadline opens; a change of what they were
computed from re-derives them in the background (``monitoring.tasks.sla_recompute``, queued on
commit by the settings services), from each deadline's ``started_at`` with the policy and
calendar in force now. Alerts already recorded stay recorded (one per deadline and threshold).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from inbox.models import AfterSalesCase, Conversation, ShopAccount
from monitoring.models.sla import Deadline, DeadlineState
from monitoring.sla.deadlines import (
    Rules,
    SubjectRef,
    deadlines_move,
    deadlines_save,
    subject_settle,
)

BATCH = 500


def deadlines_recompute(
    *,
    organisation_id: int | None = None,
    shop_account_id: int | None = None,
    now: datetime | None = None,
) -> int:
    """Re-derive ``due_at``, ``next_alert_at`` and ``rule`` of the open deadlines of one shop
    (``shop_account_id``) or of every shop of an organisation; returns how many moved or ended.

    Keeps: batches of ``BATCH`` deadlines, each in its own transaction with its subjects' rows
    locked first (the order the live engine locks in), so a deadline closed meanwhile is left
    closed; a target the policy now turns off ends; each subject whose earliest open deadline
    changed gets its queue key written and ``sla.deadline`` published.
    """
    if organisation_id is None and shop_account_id is None:
        raise ValueError("name an organisation or a shop account")
    shops = ShopAccount.objects.all()
    if organisation_id is not None:
        shops = shops.filter(organisation_id=organisation_id)
    if shop_account_id is not None:
        shops = shops.filter(pk=shop_account_id)
    changed = 0
    for shop_id in shops.order_by("pk").values_list("pk", flat=True):
        rules = Rules.for_shop(shop_id)
        after = 0
        while True:
            ids = list(
                Deadline.objects.filter(shop_account_id=shop_id, state=DeadlineState.OPEN)
                .filter(pk__gt=after)
                .order_by("pk")
                .values_list("pk", flat=True)[:BATCH]
            )
            if not ids:
                break
            after = ids[-1]
            changed += _batch(ids, shop_id, rules, now or timezone.now())
    return changed


@transaction.atomic
def _batch(ids: list[int], shop_id: int, rules: Rules, now: datetime) -> int:
    subjects = Deadline.objects.filter(pk__in=ids).values_list("conversation_id", "case_id")
    chat_ids = sorted({c for c, _ in subjects if c is not None})
    case_ids = sorted({c for _, c in subjects if c is not None})
    # Subjects first, then deadlines: the order every live change locks in.
    list(Conversation.objects.select_for_update().filter(pk__in=chat_ids).values_list("pk"))
    seller_deadlines = dict(
        AfterSalesCase.objects.select_for_update()
        .filter(pk__in=case_ids)
        .order_by("pk")
        .values_list("pk", "seller_deadline")
    )
    rows = list(Deadline.objects.select_for_update().filter(pk__in=ids, state=DeadlineState.OPEN))
    before = {r.pk: (r.due_at, r.next_alert_at) for r in rows}
    moved_all, off_all = [], []
    for row in rows:
        platform = seller_deadlines.get(row.case_id) if row.case_id else None
        moved, off = deadlines_move(rows=[row], rules=rules, now=now, platform_deadline=platform)
        moved_all += [r for r in moved if (r.due_at, r.next_alert_at) != before[r.pk]]
        off_all += off
    deadlines_save(moved=moved_all, off=off_all, now=now)
    touched = {(r.conversation_id, r.case_id) for r in [*moved_all, *off_all]}
    if touched:
        _settle(touched, shop_id, rules, now)
    return len(moved_all) + len(off_all)


def _settle(
    touched: set[tuple[int | None, int | None]], shop_id: int, rules: Rules, now: datetime
) -> None:
    """Each touched subject's key and event, from all its open deadlines (one read)."""
    chats = [c for c, _ in touched if c is not None]
    cases = [c for _, c in touched if c is not None]
    open_rows: dict[tuple[int | None, int | None], list[Deadline]] = defaultdict(list)
    rows = Deadline.objects.filter(state=DeadlineState.OPEN).filter(
        Q(conversation_id__in=chats) | Q(case_id__in=cases)
    )
    for row in rows:
        open_rows[(row.conversation_id, row.case_id)].append(row)
    for chat_id, case_id in touched:
        ref = SubjectRef(
            subject="conversation" if chat_id is not None else "case",
            id=chat_id if chat_id is not None else case_id or 0,
            organisation_id=rules.policy.organisation_id,
            shop_account_id=shop_id,
        )
        subject_settle(
            ref,
            open_rows.get((chat_id, case_id), []),
            now=now,
            time_zone=rules.calendar.time_zone,
        )
