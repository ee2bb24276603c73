"""Deadlines opening, closing and moving (docs/sla.md, "Opening and closing").

The engine's primitives, used by the subscribers in ``monitoring.sla.lifecycle`` (the
conversation's state, the case's stage, robot replies) and by the recompute
(``monitoring.sla.recompute``). Every caller holds the subject's row lock (the conversation or
the case), so the subject's deadlines change one writer at a time; the partial unique
constraints (one open deadline per subject and kind) are kept by inserting with ``ON CONFLICT
DO NOTHING``, so a second opening of a kind already open adds nothing and raises nothing.

After each change the subject's queue key (``inbox.services.sla_keys.sla_due_set``: the
earliest open due time) is written and ``sla.deadline`` published (on commit) with the
earliest-due open deadline, or null.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from django.db.models import Case, Q, QuerySet, Value, When

from inbox.models import ShopAccount
from inbox.payloads_deadline import deadline_payload
from inbox.services.sla_keys import sla_due_set
from monitoring.events import SLA_DEADLINE
from monitoring.models.sla import Deadline, DeadlineKind, DeadlineState, SlaPolicy
from monitoring.sla.calendar import CalendarSpec
from monitoring.sla.policies import deadline_due, policy_and_calendar_for_shop, warning_times
from monitoring.sla.selectors import deadline_info
from scrm.compiled import instances_compiled
from scrm.db import insert_rows
from scrm.events import event_publish
from scrm.memo import remembered

OPEN = DeadlineState.OPEN
REPLY_KINDS = (DeadlineKind.FIRST_REPLY.value, DeadlineKind.NEXT_REPLY.value)
CONVERSATION_KINDS = (*REPLY_KINDS, DeadlineKind.SAME_DAY.value)
CASE_KINDS = (DeadlineKind.AFTER_SALES.value, DeadlineKind.SAME_DAY.value)


@dataclass(frozen=True)
class SubjectRef:
    """What a deadline is about: a conversation or an after-sales case, with its tenancy."""

    subject: Literal["conversation", "case"]
    id: int
    organisation_id: int
    shop_account_id: int

    @property
    def q(self) -> Q:
        return Q(conversation_id=self.id) if self.subject == "conversation" else Q(case_id=self.id)

    def open_rows(self) -> list[Deadline]:
        """The subject's open deadlines (one query, compiled once per subject kind: every
        answered wait and every follow-up of a waiting buyer reads them)."""
        build = _open_of_conversation if self.subject == "conversation" else _open_of_case
        return instances_compiled(("sla.open_rows", self.subject), Deadline, build, self.id)


def _open_of_conversation(conversation_id: int) -> QuerySet[Deadline]:
    return Deadline.objects.filter(conversation_id=conversation_id, state=OPEN).order_by(
        "due_at", "id"
    )


def _open_of_case(case_id: int) -> QuerySet[Deadline]:
    return Deadline.objects.filter(case_id=case_id, state=OPEN).order_by("due_at", "id")


@dataclass(frozen=True)
class Rules:
    """The policy and calendar a shop follows, read once per operation (or per batch: one
    object for many conversations, so its policy is read, never changed or saved)."""

    policy: SlaPolicy
    calendar: CalendarSpec

    @classmethod
    def for_shop(cls, shop_account_id: int) -> Rules:
        """One query (the shop with its calendar week, the policy it follows, its holidays);
        none for a shop read already in the same unit of work (``scrm.memo.work_memo``: a
        worker's batch of webhooks, where each new conversation would read it again)."""

        def read() -> Rules:
            policy, calendar = policy_and_calendar_for_shop(shop_account_id)
            return cls(policy=policy, calendar=calendar)

        return remembered(("sla.rules", shop_account_id), read)


def next_alert_at(due_at: datetime, policy: SlaPolicy, now: datetime) -> datetime:
    """The first warning threshold still ahead of ``now``, else the due time (a deadline born
    inside its warning window skips the passed warnings; one born breached is alerted as
    breached at the next sweep)."""
    ahead = warning_times(due_at=due_at, policy=policy, after=now)
    return ahead[0][1] if ahead else due_at


def deadlines_open(
    *,
    ref: SubjectRef,
    requests: Sequence[tuple[str, datetime]],
    rules: Rules,
    existing: list[Deadline],
    platform_deadline: datetime | None = None,
    now: datetime,
) -> list[Deadline]:
    """Open a deadline for each ``(kind, started_at)`` not open yet (``existing``: the
    subject's open ones); returns the subject's open deadlines after it.

    Keeps: one INSERT for all (none when nothing is new); a kind the policy turns off opens
    nothing; at most one open per subject and kind (an insert that meets the unique
    constraint is dropped, not raised).
    """
    have = {d.kind for d in existing}
    rows: list[Deadline] = []
    for kind, started_at in requests:
        if kind in have:
            continue
        due = deadline_due(
            kind=kind,
            started_at=started_at,
            shop_account_id=ref.shop_account_id,
            platform_deadline=platform_deadline if kind == DeadlineKind.AFTER_SALES else None,
            policy=rules.policy,
            calendar=rules.calendar,
        )
        if due is None:
            continue
        have.add(kind)
        rows.append(
            Deadline(
                organisation_id=ref.organisation_id,
                shop_account_id=ref.shop_account_id,
                kind=kind,
                conversation_id=ref.id if ref.subject == "conversation" else None,
                case_id=ref.id if ref.subject == "case" else None,
                started_at=started_at,
                due_at=due.due_at,
                next_alert_at=next_alert_at(due.due_at, rules.policy, now),
                rule=due.rule,
                created_at=now,
            )
        )
    if rows:
        insert_rows(rows, ignore_conflicts=True)
    return sorted([*existing, *rows], key=lambda d: d.due_at)


def deadlines_close(
    *,
    rows: Iterable[Deadline],
    kinds: Iterable[str],
    answered_at: datetime | None,
    now: datetime,
    started_by: datetime | None = None,
) -> list[Deadline]:
    """Close the open deadlines among ``rows`` of ``kinds``: met (answered by the due time) or
    missed at ``answered_at``; ended at ``now`` when ``answered_at`` is None (resolved without
    an answer, the case closed without the seller's decision). ``started_by``: only those
    whose request came by then (an answer cannot answer a later request). Returns the rows
    still open. One UPDATE (none when nothing closes)."""
    kinds = set(kinds)
    closing: list[Deadline] = []
    staying: list[Deadline] = []
    for row in rows:
        fits = row.kind in kinds and (started_by is None or row.started_at <= started_by)
        (closing if fits else staying).append(row)
    if not closing:
        return staying
    update: dict[str, Any] = {"next_alert_at": None}
    if answered_at is None:
        update.update(state=DeadlineState.ENDED, closed_at=now)
    else:
        update.update(
            state=Case(
                When(due_at__gte=answered_at, then=Value(DeadlineState.MET.value)),
                default=Value(DeadlineState.MISSED.value),
            ),
            closed_at=answered_at,
        )
    Deadline.objects.filter(pk__in=[r.pk for r in closing], state=OPEN).update(**update)
    return staying


def deadlines_move(
    *,
    rows: Iterable[Deadline],
    rules: Rules,
    now: datetime,
    started_at: datetime | None = None,
    platform_deadline: datetime | None = None,
) -> tuple[list[Deadline], list[Deadline]]:
    """Re-derive the due and alert times of open ``rows`` from their start (or the new
    ``started_at``) with ``rules``: returns (still open, turned off). A kind the policy now
    turns off ends. The caller saves (``deadlines_save``)."""
    kept, off = [], []
    for row in rows:
        if started_at is not None:
            row.started_at = started_at
        due = deadline_due(
            kind=row.kind,
            started_at=row.started_at,
            shop_account_id=row.shop_account_id,
            platform_deadline=platform_deadline if row.kind == DeadlineKind.AFTER_SALES else None,
            policy=rules.policy,
            calendar=rules.calendar,
        )
        if due is None:
            off.append(row)
            continue
        if due.due_at != row.due_at:
            row.next_alert_at = next_alert_at(due.due_at, rules.policy, now)
        elif row.next_alert_at is not None:
            # The same due time: a threshold that came while no sweep ran stays owed (from
            # the one pending, not from now); a breach already alerted (null) stays alerted.
            since = min(now, row.next_alert_at - timedelta(microseconds=1))
            row.next_alert_at = next_alert_at(due.due_at, rules.policy, since)
        row.due_at, row.rule = due.due_at, due.rule
        kept.append(row)
    return kept, off


def deadlines_save(*, moved: Sequence[Deadline], off: Sequence[Deadline], now: datetime) -> None:
    """Write what ``deadlines_move`` changed (open rows only: one closed meanwhile stays)."""
    if moved:
        Deadline.objects.bulk_update(
            moved, ["started_at", "due_at", "next_alert_at", "rule"], batch_size=500
        )
    if off:
        deadlines_close(rows=off, kinds=CONVERSATION_KINDS + CASE_KINDS, answered_at=None, now=now)


def subject_settle(
    ref: SubjectRef,
    open_rows: Sequence[Deadline],
    *,
    now: datetime,
    time_zone: str | None = None,
) -> None:
    """After the subject's deadlines changed: write its queue key and publish ``sla.deadline``
    (on commit) with its earliest-due open deadline (``open_rows``), or null."""
    first = min(open_rows, key=lambda d: (d.due_at, d.kind)) if open_rows else None
    due = first.due_at if first is not None else None
    if ref.subject == "conversation":
        sla_due_set(conversations={ref.id: due})
    else:
        sla_due_set(cases={ref.id: due})
    payload = None
    if first is not None:
        zone = time_zone or _shop_zone(ref.shop_account_id)
        # The queue rows' own builder (inbox/payloads_deadline.py): one shape, one state.
        payload = deadline_payload(deadline_info(first, now=now), time_zone=zone, now=now)
    event_publish(
        organisation_id=ref.organisation_id,
        type=SLA_DEADLINE,
        shop_account_id=ref.shop_account_id,
        data={
            "subject": ref.subject,
            "id": ref.id,
            "shop_account_id": ref.shop_account_id,
            "deadline": payload,
        },
    )


def _shop_zone(shop_account_id: int) -> str:
    zone = ShopAccount.objects.filter(pk=shop_account_id).values_list("time_zone", flat=True)
    return zone.first() or "UTC"
