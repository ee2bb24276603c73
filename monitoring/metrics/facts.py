"""The metric facts, written where the requests and their answers are stored (docs/insights.md,
"Where the facts come from"): subscribers of the inbox's moments, registered in
``MonitoringConfig.ready()`` beside the SLA tracker's.

* ``messages_stored`` (ingestion stored buyer messages, robot replies or the platform's own
  messages): the first buyer message after the last answer opens a chat request; a robot or
  auto-reply, or a notice of the platform (SYSTEM), after it answers it (automated: the
  platform counts it for the first response); a rating card records the buyer's rating.
* ``conversation_state_changed``: the buyer's wait ending or moving later means a person's
  answer reached the platform (our reply delivered, or one typed in Seller Center read back):
  it answers the open chat request at that answer's time, as that person's.
* ``case_stage_changed``: a case entering "needs a decision" opens an after-sales request;
  leaving it answers it at the platform's time of the change (our decision, or the seller's on
  the platform), or ends it when the platform closed the case without one (the buyer withdrew).

Each runs inside the announcing transaction with the subject's row locked, reads at most the
subject's open fact and its last answer, and marks the touched shop-local days for the rollup
(``monitoring.metrics.rollup``). None does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from inbox.hooks import CaseStageChanged, MessagesStored
from inbox.models import (
    CaseStage,
    Conversation,
    Message,
    ShopAccount,
)
from inbox.services.conversation_state import StateChange, human_answers
from monitoring.models.metrics import (
    ChatRating,
    FactState,
    MetricDirtyDay,
    MetricSubject,
    ResponseFact,
)
from scrm.compiled import instances_compiled, read_compiled
from scrm.db import insert_rows, insert_unless_conflict, statement_deferred

NEEDS_DECISION = CaseStage.NEEDS_DECISION.value
CHAT = MetricSubject.CHAT.value
AFTER_SALES = MetricSubject.AFTER_SALES.value
OPEN = FactState.OPEN.value
# The platform's card carrying the buyer's rating of a chat (sender SYSTEM, content
# ``{"rating": 1..5}``); docs/insights.md, "Dissatisfaction".
RATING_MESSAGE_TYPE = "SATISFACTION_RATING"


def shop_zone(shop_account_id: int) -> ZoneInfo:
    """The shop's time zone (its days are the metrics' days)."""
    return _zone(
        ShopAccount.objects.filter(pk=shop_account_id).values_list("time_zone", flat=True).first()
    )


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ValueError, KeyError):
        return ZoneInfo("UTC")


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def days_mark(shop_account_id: int, days: Iterable[date]) -> None:
    """Mark shop-local days whose facts changed (their rollup is rebuilt). Never waits.

    The marks have no unique key: a marker that waited on another's uncommitted mark of the
    same day deadlocked whenever the two then wanted each other's rows (a rule's reply and
    its decision, delivered at once, each marking the day and locking the conversation in the
    other order). A day already marked and not claimed by a rebuilder is kept (and held, key
    share, until this transaction ends, so no rebuild claims it before this change commits); a
    day whose mark a rebuilder holds, or none, gets a new mark, which that rebuild does not
    delete. Two markers racing on an unmarked day may leave two marks: the rollup reads a day
    once however many it has."""
    days = sorted(set(days))
    if not days:
        return
    if connection.vendor != "postgresql":
        # SQLite (one writer at a time): a mark each time, no check that a rebuild could make
        # stale between it and this commit; the rollup reads a day once however many it has.
        MetricDirtyDay.objects.bulk_create(
            [MetricDirtyDay(shop_account_id=shop_account_id, date=d) for d in days]
        )
        return
    # With ingestion's next statement when it defers writes (nothing reads the marks back).
    statement_deferred(_MARK_SQL, [shop_account_id, days, shop_account_id])


_MARK_SQL = f"""
    INSERT INTO {MetricDirtyDay._meta.db_table} (shop_account_id, date)
    SELECT %s, d FROM unnest(%s::date[]) AS d
    WHERE NOT EXISTS (
        SELECT 1 FROM {MetricDirtyDay._meta.db_table} m
        WHERE m.shop_account_id = %s AND m.date = d
        FOR KEY SHARE SKIP LOCKED
    )
"""  # noqa: S608 - the table's own name; values go as parameters


def _answered(
    fact: ResponseFact, *, at: datetime, agent_id: int | None, automated: bool
) -> dict[str, Any]:
    """The fields an answer at ``at`` writes on an open request."""
    at = max(at, fact.received_at)
    return {
        "state": FactState.ANSWERED,
        "answered_at": at,
        "seconds": int((at - fact.received_at).total_seconds()),
        "agent_id": agent_id,
        "automated": automated,
    }


def _answer(fact: ResponseFact, *, at: datetime, agent_id: int | None, automated: bool) -> None:
    values = _answered(fact, at=at, agent_id=agent_id, automated=automated)
    ResponseFact.objects.filter(pk=fact.pk, state=OPEN).update(**values)


def _open(
    *,
    subject: str,
    organisation_id: int,
    shop_account_id: int,
    received_at: datetime,
    zone: ZoneInfo,
    conversation_id: int | None = None,
    case_id: int | None = None,
) -> None:
    """Open a request (an insert the one-open-per-subject constraint drops when one is open)."""
    insert_rows(
        [
            ResponseFact(
                organisation_id=organisation_id,
                shop_account_id=shop_account_id,
                subject=subject,
                conversation_id=conversation_id,
                case_id=case_id,
                received_at=received_at,
                local_date=local_day(received_at, zone),
            )
        ],
        ignore_conflicts=True,
    )


# --- chats -----------------------------------------------------------------------------------
def _answer_time(row: Mapping[str, Any], now: datetime) -> datetime:
    """When a person's answer reached the platform: the platform's time of a message read from
    it, now for our reply just delivered (its stored time is when it was submitted)."""
    return min(row["sent_at"], now) if row["synced"] else now


def messages_stored(event: MessagesStored, *, now: datetime | None = None) -> None:
    """Buyer messages open chat requests; the answers in the batch (robot replies, platform
    notices: automated; a person's read from the platform) answer them; a rating card is
    recorded as the buyer's rating of the chat."""
    conversation = event.conversation
    ratings = [m for m in event.platform_messages if m.type == RATING_MESSAGE_TYPE]
    automated = [
        *event.robot_times,
        *(m.sent_at for m in event.platform_messages if m.type != RATING_MESSAGE_TYPE),
    ]
    if not (event.buyer_times or automated or ratings):
        return
    loaded = conversation._state.fields_cache.get("shop_account")  # ingestion's, no query
    if loaded is not None:
        zone = _zone(loaded.time_zone)
    else:
        zone = shop_zone(conversation.shop_account_id)
    touched = _chat_timeline(
        conversation,
        list(event.buyer_times),
        automated,
        zone,
        now or timezone.now(),
        new=event.change.history is not None,
    )
    touched += ratings_record(conversation, ratings, zone)
    days_mark(conversation.shop_account_id, touched)


def _timeline_events(
    conversation: Conversation, buyers: list[datetime], automated: list[datetime], now: datetime
) -> list[tuple[datetime, int, str, int | None]]:
    """The batch in time order: (time, order, kind, author). A person's answers are read only
    when one came after the batch's first buyer message (the conversation's wait says so); an
    answer sorts before a buyer message of the same second (that message waits, as the
    conversation's state counts it)."""
    events: list[tuple[datetime, int, str, int | None]] = [(t, 1, "buyer", None) for t in buyers]
    events += [(t, 0, "auto", None) for t in automated]
    first = min(buyers) if buyers else None
    waiting = conversation.waiting_since
    if first is not None and (waiting is None or waiting > first):
        rows = human_answers(conversation.pk).filter(sent_at__gt=first)
        for row in rows.order_by("sent_at", "id").values("sent_at", "synced", "author_id"):
            events.append((_answer_time(row, now), 0, "human", row["author_id"]))
    return sorted(events, key=lambda e: (e[0], e[1]))


def _last_request(conversation_id: int) -> QuerySet[ResponseFact]:
    return ResponseFact.objects.filter(conversation_id=conversation_id).order_by(
        "-received_at", "-id"
    )[:1]


def _chat_timeline(
    conversation: Conversation,
    buyers: list[datetime],
    automated: list[datetime],
    zone: ZoneInfo,
    now: datetime,
    *,
    new: bool = False,
) -> list[date]:
    """Walk the batch: a buyer message opens a request when none waits and the last answered
    one was answered before it; an answer after a waiting request answers it (automated, or
    as its author's). ``new``: the conversation was created with the batch (it has no request
    yet: none is read), so its requests are walked in memory and inserted as they end up, with
    the store's next statement (nothing in the store reads them back; no other transaction can
    write a request of a conversation not committed yet). Returns the days touched."""
    last = None
    if not new:
        found = instances_compiled(
            "facts.last_request", ResponseFact, _last_request, conversation.pk
        )
        last = found[0] if found else None
    waiting = last if last is not None and last.state == OPEN else None
    covered = last.answered_at if last is not None and waiting is None else None
    touched: list[date] = []
    made: list[ResponseFact] = []  # a new conversation's requests, written at the end
    for moment, _order, kind, author in _timeline_events(conversation, buyers, automated, now):
        if kind == "buyer":
            if waiting is not None or (covered is not None and moment < covered):
                continue  # part of a request already waiting, or already answered
            if new:
                waiting = _chat_fact(conversation, received_at=moment, zone=zone)
                made.append(waiting)
            else:
                waiting = _open_chat_fact(conversation, received_at=moment, zone=zone)
            if waiting is not None:
                touched.append(waiting.local_date)
            continue
        if waiting is None or moment < waiting.received_at:
            continue
        if kind == "human" and moment == waiting.received_at:
            continue  # a buyer message of the answer's second is not answered by it
        if new:
            answer = _answered(waiting, at=moment, agent_id=author, automated=kind == "auto")
            for name, value in answer.items():
                setattr(waiting, name, value)
        else:
            _answer(waiting, at=moment, agent_id=author, automated=kind == "auto")
        touched.append(waiting.local_date)
        covered, waiting = moment, None
    # The one-open-per-conversation constraint stays the backstop (a conflict drops the row).
    insert_rows(made, ignore_conflicts=True, defer=True)
    return touched


def _chat_fact(
    conversation: Conversation, *, received_at: datetime, zone: ZoneInfo
) -> ResponseFact:
    """A chat request of ``conversation`` received at ``received_at``, not written."""
    return ResponseFact(
        organisation_id=conversation.organisation_id,
        shop_account_id=conversation.shop_account_id,
        subject=CHAT,
        conversation_id=conversation.pk,
        received_at=received_at,
        local_date=local_day(received_at, zone),
    )


def _open_chat_fact(
    conversation: Conversation, *, received_at: datetime, zone: ZoneInfo
) -> ResponseFact | None:
    """Insert a waiting chat request (the caller saw none waiting, under the conversation's
    lock; the unique index is the backstop: a conflict adds nothing and raises nothing)."""
    fact = _chat_fact(conversation, received_at=received_at, zone=zone)
    return fact if insert_unless_conflict(fact, constraint="uniq_open_fact_conversation") else None


def _stars(message: Message) -> int | None:
    content = message.content if isinstance(message.content, dict) else {}
    value = content.get("rating")
    return value if isinstance(value, int) and 1 <= value <= 5 else None


def ratings_record(
    conversation: Conversation, messages: list[Message], zone: ZoneInfo
) -> list[date]:
    """Record the buyer's ratings of the chat (once per platform message), each as the agent's
    who last answered before it (nobody's when no person had). Returns the days touched."""
    rows = []
    for message in messages:
        stars = _stars(message)
        if stars is None:
            continue
        author = (
            human_answers(conversation.pk)
            .filter(sent_at__lte=message.sent_at)
            .order_by("-sent_at", "-id")
            .values_list("author_id", flat=True)
            .first()
        )
        rows.append(
            ChatRating(
                organisation_id=conversation.organisation_id,
                shop_account_id=conversation.shop_account_id,
                conversation_id=conversation.pk,
                message_id=message.pk,
                stars=stars,
                rated_at=message.sent_at,
                local_date=local_day(message.sent_at, zone),
                agent_id=author,
            )
        )
    if rows:
        ChatRating.objects.bulk_create(rows, ignore_conflicts=True)
    return [r.local_date for r in rows]


def conversation_state_changed(change: StateChange, *, now: datetime | None = None) -> None:
    """A person's answer (the wait ended, or moved later) answers the waiting chat request at
    the first answer after it, as its author's. The wait also ends when the buyer's message is
    hidden: then no answer came after the request, and it stays waiting."""
    before, after = change.before.waiting_since, change.after.waiting_since
    if before is None or (after is not None and after <= before):
        return
    fact = _open_request_of(change.conversation_id)
    if fact is None:
        return
    first = _first_answer_after(change.conversation_id, fact.received_at)
    if first is None:
        return
    at = _answer_time(first, now or timezone.now())
    _answer(fact, at=at, agent_id=first["author_id"], automated=False)
    days_mark(change.shop_account_id, [fact.local_date])


def _open_request(conversation_id: int) -> QuerySet[ResponseFact]:
    return ResponseFact.objects.filter(conversation_id=conversation_id, state=OPEN).order_by("pk")[
        :1
    ]


def _open_request_of(conversation_id: int) -> ResponseFact | None:
    """The conversation's waiting chat request (one at most); compiled once."""
    found = instances_compiled("facts.open_request", ResponseFact, _open_request, conversation_id)
    return found[0] if found else None


def _answers_after(conversation_id: int, after: datetime) -> QuerySet[Any]:
    return (
        human_answers(conversation_id)
        .filter(sent_at__gt=after)
        .order_by("sent_at", "id")
        .values_list("sent_at", "synced", "author_id")[:1]
    )


def _first_answer_after(conversation_id: int, after: datetime) -> dict[str, Any] | None:
    """The first person's answer after ``after``: sent_at, synced, author_id. Compiled once on
    PostgreSQL (every delivered reply that answers a wait reads it); SQLite's adapter turns the
    time into text, so there the ORM reads it."""
    if connection.vendor == "postgresql":
        rows = read_compiled("facts.answer_after", _answers_after, conversation_id, after)
    else:
        rows = list(_answers_after(conversation_id, after))
    if not rows:
        return None
    sent_at, synced, author_id = rows[0]
    return {"sent_at": sent_at, "synced": synced, "author_id": author_id}


# --- after-sales cases -----------------------------------------------------------------------
def case_stage_changed(event: CaseStageChanged, *, now: datetime | None = None) -> None:
    """Entering "needs a decision" opens an after-sales request; leaving it answers or ends it."""
    now = now or timezone.now()
    case = event.case
    entered = event.after == NEEDS_DECISION and event.before != NEEDS_DECISION
    left = event.before == NEEDS_DECISION and event.after != NEEDS_DECISION
    if entered:
        received_at = case.platform_created_at
        if event.before is not None:  # back to needing a decision: a new request from now
            received_at = max(received_at, min(case.platform_updated_at, now))
        zone = shop_zone(case.shop_account_id)
        _open(
            subject=AFTER_SALES,
            organisation_id=case.organisation_id,
            shop_account_id=case.shop_account_id,
            case_id=case.pk,
            received_at=received_at,
            zone=zone,
        )
        days_mark(case.shop_account_id, [local_day(received_at, zone)])
    elif left:
        fact = ResponseFact.objects.filter(case_id=case.pk, state=OPEN).first()
        if fact is None:
            return
        decision = case.decisions.order_by("-id").values("author_id").first()
        if event.after == CaseStage.CLOSED and decision is None:
            ResponseFact.objects.filter(pk=fact.pk, state=OPEN).update(state=FactState.ENDED)
        else:
            at = min(case.platform_updated_at, now)
            author = decision["author_id"] if decision else None
            _answer(fact, at=at, agent_id=author, automated=False)
        days_mark(case.shop_account_id, [fact.local_date])


def subscribe() -> None:
    """Register the subscribers (``MonitoringConfig.ready()``; twice is once)."""
    from inbox.hooks import case_stage_changed as case_hook
    from inbox.hooks import messages_stored as messages_hook
    from inbox.services.conversation_state import conversation_state_subscribe

    conversation_state_subscribe(conversation_state_changed)
    case_hook.subscribe(case_stage_changed)
    messages_hook.subscribe(messages_stored)
