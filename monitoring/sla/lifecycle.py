"""When deadlines open and close (docs/sla.md, "Deadlines"): subscribers to the inbox's moments,
registered in ``MonitoringConfig.ready()``.

* A conversation's state (``conversation_state_subscribe``): its wait starting opens a reply
  deadline (``first_reply`` when no human ever answered in it, else ``next_reply``) and the
  same-day one, from ``waiting_since``; the wait ending (a human answer delivered or received:
  ``waiting_since`` back to None) closes them, met or missed by the answer's time; a person
  resolving it while the buyer waits ends them; a buyer writing to a resolved conversation
  opens new ones from that message. Pending and snoozed change nothing.
* A case's stage (``inbox.hooks.case_stage_changed``): entering ``needs_decision`` opens the
  after-sales deadline (due by the platform's seller deadline when that is earlier) and the
  same-day one; leaving it closes them (met or missed by the platform's time of the change;
  ended when the platform closed it without a decision of ours).
* Messages stored (``inbox.hooks.messages_stored``): a robot or auto-reply closes the reply and
  same-day deadlines when the shop's policy says robots answer; a buyer writing again in a wait
  with nothing open (a robot answered it, or it was ended) opens a reply deadline again.

Each runs in the announcing transaction with the subject's row locked; none does I/O
(``sla.deadline`` is pushed on commit).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from inbox.hooks import CaseStageChanged, MessagesStored
from inbox.models import ANSWERED_SENTINEL, CaseStage, Message
from inbox.services.conversation_state import (
    RESOLVED,
    StateChange,
    Trigger,
    human_answers,
    is_human_answer,
)
from monitoring.models.sla import Deadline, DeadlineKind, DeadlineState
from monitoring.sla.deadlines import (
    CASE_KINDS,
    CONVERSATION_KINDS,
    REPLY_KINDS,
    Rules,
    SubjectRef,
    deadlines_close,
    deadlines_move,
    deadlines_open,
    deadlines_save,
    subject_settle,
)
from scrm.compiled import read_compiled

NEEDS_DECISION = CaseStage.NEEDS_DECISION.value
SAME_DAY = DeadlineKind.SAME_DAY.value


# --- conversations ---------------------------------------------------------------------------
def _conversation_ref(change: StateChange) -> SubjectRef:
    return SubjectRef(
        subject="conversation",
        id=change.conversation_id,
        organisation_id=change.organisation_id,
        shop_account_id=change.shop_account_id,
    )


def reply_kind(conversation_id: int, history: tuple[Message, ...] | None = None) -> str:
    """first_reply while no human ever answered in the conversation, else next_reply.
    ``history``: all its messages, when known (``StateChange.history``): nothing is read."""
    if history is not None:
        answered = any(is_human_answer(m) for m in history)
    else:
        answered = human_answers(conversation_id).exists()
    return DeadlineKind.NEXT_REPLY.value if answered else DeadlineKind.FIRST_REPLY.value


def _answered_at(conversation_id: int, now: datetime) -> datetime | None:
    """When the last human answer reached the platform: the platform's time of a message read
    from it, now for our own reply just delivered (its stored time is when it was submitted);
    None when there is none (the wait ended otherwise: the buyer's message hidden)."""
    rows = read_compiled("sla.last_answer", _last_answer, conversation_id)
    if not rows:
        return None
    sent_at, synced = rows[0]
    return min(sent_at, now) if synced else now


def _last_answer(conversation_id: int) -> QuerySet[Any]:
    # Compiled once (scrm.compiled): every delivered reply that answers a wait reads it.
    return human_answers(conversation_id).order_by("-sent_at").values_list("sent_at", "synced")[:1]


def conversation_state_changed(change: StateChange, *, now: datetime | None = None) -> None:
    """Follow a conversation's state change (subscriber of ``conversation_state``)."""
    now = now or timezone.now()
    before, after = change.before, change.after
    if change.trigger == Trigger.AGENT and change.status_changed and after.status == RESOLVED:
        ref = _conversation_ref(change)
        rows = ref.open_rows()
        if rows:
            staying = deadlines_close(
                rows=rows, kinds=CONVERSATION_KINDS, answered_at=None, now=now
            )
            subject_settle(ref, staying, now=now)
        return
    if after.waiting_since is None:
        if before.waiting_since is not None:
            _wait_answered(_conversation_ref(change), now=now)
        return
    if before.waiting_since != after.waiting_since:
        _wait_started(change, started_at=after.waiting_since, now=now)
    elif before.status == RESOLVED and change.trigger == Trigger.BUYER_MESSAGE:
        # The buyer wrote to a conversation resolved while they waited: a new request.
        _reopened(change, now=now)


def _wait_answered(ref: SubjectRef, *, now: datetime) -> None:
    rows = ref.open_rows()
    if not rows:
        return
    answered_at = _answered_at(ref.id, now)
    staying = deadlines_close(rows=rows, kinds=CONVERSATION_KINDS, answered_at=answered_at, now=now)
    subject_settle(ref, staying, now=now)


def _wait_started(change: StateChange, *, started_at: datetime, now: datetime) -> None:
    """The wait began (from none), moved later (answered, and the buyer wrote again in the same
    batch) or earlier (an older buyer message arrived late: the open ones move)."""
    ref = _conversation_ref(change)
    # A conversation created with these messages has no deadline yet.
    rows = [] if change.history is not None else ref.open_rows()
    previous = change.before.waiting_since
    rules = Rules.for_shop(ref.shop_account_id)
    if previous is not None and started_at < previous and rows:
        moved, off = deadlines_move(rows=rows, rules=rules, now=now, started_at=started_at)
        deadlines_save(moved=moved, off=off, now=now)
        subject_settle(ref, moved, now=now, time_zone=rules.calendar.time_zone)
        return
    if previous is not None and rows:
        rows = deadlines_close(
            rows=rows,
            kinds=CONVERSATION_KINDS,
            answered_at=_answered_at(ref.id, now),
            now=now,
            started_by=started_at,
        )
    _open_reply(
        ref,
        started_at=started_at,
        rows=rows,
        rules=rules,
        now=now,
        kind=reply_kind(ref.id, change.history),
    )


def _open_reply(
    ref: SubjectRef,
    *,
    started_at: datetime,
    rows: list,
    rules: Rules,
    now: datetime,
    kind: str | None = None,
) -> None:
    kind = kind or reply_kind(ref.id)
    open_rows = deadlines_open(
        ref=ref,
        requests=[(kind, started_at), (SAME_DAY, started_at)],
        rules=rules,
        existing=rows,
        now=now,
    )
    subject_settle(ref, open_rows, now=now, time_zone=rules.calendar.time_zone)


def _reopened(change: StateChange, *, now: datetime) -> None:
    ref = _conversation_ref(change)
    started_at = change.last_buyer_message_at or change.after.waiting_since
    if started_at is None:
        return
    rules = Rules.for_shop(ref.shop_account_id)
    _open_reply(ref, started_at=started_at, rows=ref.open_rows(), rules=rules, now=now)


# --- robot replies and follow-ups ------------------------------------------------------------
def messages_stored(event: MessagesStored, *, now: datetime | None = None) -> None:
    """Robot replies and buyer follow-ups (subscriber of ``inbox.hooks.messages_stored``).

    Cheap on the hot path: a buyer's follow-up in a wait whose deadlines are open (the queue
    key says so) reads nothing; only a robot reply reads the policy."""
    conversation = event.conversation
    waiting_since = conversation.waiting_since
    if waiting_since is None:
        return
    now = now or timezone.now()
    ref = SubjectRef(
        subject="conversation",
        id=conversation.pk,
        organisation_id=conversation.organisation_id,
        shop_account_id=conversation.shop_account_id,
    )
    robot_at = next((t for t in reversed(event.robot_times) if t >= waiting_since), None)
    if robot_at is not None:
        rules = Rules.for_shop(ref.shop_account_id)
        if rules.policy.robot_replies_close:
            _robot_answered(ref, event, robot_at=robot_at, rules=rules, now=now)
            return
    # The queue key is exact (its one writer is the tracker) and this row was read under the
    # lock before the batch: the sentinel means nothing was open. The state subscriber, which
    # may have written it since, acted only if the wait moved or a resolved one reopened.
    nothing_open = conversation.sla_due_at == ANSWERED_SENTINEL
    change = event.change
    handled = change.wait_changed or (change.before.status == RESOLVED and change.status_changed)
    if event.buyer_times and not handled and nothing_open:
        # A wait a robot answered (where that counts) is waiting again: a next reply.
        robot_answered = Deadline.objects.filter(
            ref.q, kind__in=REPLY_KINDS, state__in=[DeadlineState.MET, DeadlineState.MISSED]
        ).exists()
        rules = Rules.for_shop(ref.shop_account_id)
        _open_reply(
            ref,
            started_at=event.buyer_times[0],
            rows=[],
            rules=rules,
            now=now,
            kind=DeadlineKind.NEXT_REPLY.value if robot_answered else None,
        )


def _robot_answered(
    ref: SubjectRef, event: MessagesStored, *, robot_at: datetime, rules: Rules, now: datetime
) -> None:
    rows = ref.open_rows()
    staying = deadlines_close(
        rows=rows,
        kinds=CONVERSATION_KINDS,
        answered_at=min(robot_at, now),
        now=now,
        started_by=robot_at,
    )
    later = [t for t in event.buyer_times if t > robot_at]
    if later:  # the buyer wrote again after the robot: a new request
        _open_reply(
            ref,
            started_at=later[0],
            rows=staying,
            rules=rules,
            now=now,
            kind=DeadlineKind.NEXT_REPLY.value,
        )
    elif len(staying) != len(rows):
        subject_settle(ref, staying, now=now, time_zone=rules.calendar.time_zone)


# --- after-sales cases -----------------------------------------------------------------------
def case_stage_changed(event: CaseStageChanged, *, now: datetime | None = None) -> None:
    """Follow a case's stage (subscriber of ``inbox.hooks.case_stage_changed``)."""
    now = now or timezone.now()
    case = event.case
    ref = SubjectRef(
        subject="case",
        id=case.pk,
        organisation_id=case.organisation_id,
        shop_account_id=case.shop_account_id,
    )
    entered = event.after == NEEDS_DECISION and event.before != NEEDS_DECISION
    left = event.before == NEEDS_DECISION and event.after != NEEDS_DECISION
    if not (entered or left or event.after == NEEDS_DECISION):
        return
    rows = ref.open_rows()
    if entered:
        started_at = case.platform_created_at
        if event.before is not None:  # back to needing a decision (e.g. the parcel came back)
            started_at = max(started_at, min(case.platform_updated_at, now))
        rules = Rules.for_shop(ref.shop_account_id)
        open_rows = deadlines_open(
            ref=ref,
            requests=[(DeadlineKind.AFTER_SALES.value, started_at), (SAME_DAY, started_at)],
            rules=rules,
            existing=rows,
            platform_deadline=case.seller_deadline,
            now=now,
        )
        subject_settle(ref, open_rows, now=now, time_zone=rules.calendar.time_zone)
    elif left:
        if not rows:
            return
        decided = event.after != CaseStage.CLOSED or case.decisions.exists()
        answered_at = min(case.platform_updated_at, now) if decided else None
        staying = deadlines_close(rows=rows, kinds=CASE_KINDS, answered_at=answered_at, now=now)
        subject_settle(ref, staying, now=now)
    else:  # still needs a decision, the platform's seller deadline moved
        after_sales = [r for r in rows if r.kind == DeadlineKind.AFTER_SALES]
        if not after_sales:
            return
        rules = Rules.for_shop(ref.shop_account_id)
        moved, off = deadlines_move(
            rows=after_sales, rules=rules, now=now, platform_deadline=case.seller_deadline
        )
        deadlines_save(moved=moved, off=off, now=now)
        others = [r for r in rows if r.kind != DeadlineKind.AFTER_SALES]
        subject_settle(ref, [*moved, *others], now=now, time_zone=rules.calendar.time_zone)


def subscribe() -> None:
    """Register the subscribers (``MonitoringConfig.ready()``; subscribing twice is once)."""
    from inbox.hooks import case_stage_changed as case_hook
    from inbox.hooks import messages_stored as messages_hook
    from inbox.services.conversation_state import conversation_state_subscribe

    conversation_state_subscribe(conversation_state_changed)
    case_hook.subscribe(case_stage_changed)
    messages_hook.subscribe(messages_stored)
