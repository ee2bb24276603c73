"""The outbox: every action the product takes on a platform or an outside endpoint, delivered
once, with its guarantees written here and nowhere else.

An action is a row (``OutboxAction``) with its attempts (``OutboxAttempt``). How "never twice"
and "never lost" hold, for every kind:

- the action is stored in the transaction of the change that asks for it (a reply, a read), and
  its task is queued on commit; the task takes the action's id only (``inbox.tasks.
  deliver_outbox_action``) and owns the retry policy;
- each attempt first commits a lease: an attempt row and ``next_attempt_at`` at the lease's
  end, before any I/O. While an attempt is open and its lease runs, no other worker (a duplicate
  task, a broker redelivery, the sweep) may start one;
- an attempt after the first asks the kind's handler to look for the result on the platform
  (``find``) before doing anything again: a worker killed between the platform's answer and our
  commit, or a timeout that hid a success, costs a read, not a second send. A kind without
  ``find`` must say repeating it is harmless (``idempotent``: marking read);
- retryable failures go back to the task (backoff, ``next_attempt_at`` recorded first); a
  definitive one fails the action at once, visibly, with its reason;
- the sweep (``outbox_stuck_claim``) queues again any open action a grace period late for its
  ``next_attempt_at`` (a lost task, a worker killed during a retry countdown), claiming it for
  one lease so that it is queued once; an action still open after its kind's ``max_age`` fails.

Adding a kind (after-sales decisions, alert deliveries next): subclass :class:`Handler` (or
``outbox_kinds.ShopHandler`` for a call on a shop's platform), give it a ``kind``, ``prepare``
and ``perform`` (and ``find`` unless repeating is harmless; the ``on_*`` hooks mirror the
action's state onto its subject), register an instance with :func:`outbox_handler_register`
from the app's ``AppConfig.ready()``, and create actions with :func:`outbox_enqueue`.

Lock order, to stay clear of deadlocks with ingestion: action, then conversation, then
message. Ingestion never locks an action: a reply it adopts is settled by its next attempt.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, connections, router, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from inbox.models import OPEN_STATES, OutboxAction, OutboxAttempt, OutboxState
from scrm.compiled import instances_compiled, read_compiled
from scrm.db import insert_rows, row_update, statement_deferred, writes_deferred
from scrm.events import events_gathered

logger = logging.getLogger(__name__)

IN_FLIGHT = "in_flight"
SWEEP_BATCH = 500


def delivery_lease() -> timedelta:
    """How long an open attempt keeps other workers off an action: longer than one attempt can
    take (connect 3 s + read 10 s, a few in-call retries of a few seconds)."""
    return timedelta(seconds=settings.SCRM_DELIVERY_LEASE_SECONDS)


def sweep_grace() -> timedelta:
    """How late an action's next attempt may be before the sweep queues it again: a busy worker
    starting a due task a little late is not a lost task."""
    return timedelta(seconds=settings.SCRM_DELIVERY_SWEEP_GRACE_SECONDS)


# --- kinds -----------------------------------------------------------------------------------
class Handler:
    """What one kind of action does; the outbox does the rest.

    Errors raised by ``prepare``, ``find`` and ``perform`` that carry a boolean ``retryable``
    (``PlatformError``, ``scrm.http.HttpError``) are delivery errors: retryable ones are retried
    by the task, others fail the action at once. Any other exception is our own trouble (a
    locked database, a bug): retried with backoff, then failed as "internal error".
    """

    kind: ClassVar[str] = ""
    # True when doing it twice is harmless, so an attempt after the first needs no ``find``.
    idempotent: ClassVar[bool] = False
    # Still open this long after it was asked for: given up, visibly.
    max_age: ClassVar[timedelta] = timedelta(hours=24)
    stale_reason: ClassVar[str] = "Not done within a day."

    def settled(self, action: OutboxAction) -> str | None:
        """``sent`` or ``failed`` if the subject reached its end another way (ingestion saw the
        reply on the platform); the action then closes without an attempt."""
        return None

    def prepare(self, action: OutboxAction) -> Any:
        """What one attempt needs (the subject, a platform connection); outside any
        transaction. A delivery error here fails or retries like one from ``perform``."""
        return None

    def find(self, action: OutboxAction, prepared: Any, *, since: datetime) -> str | None:
        """The result of an earlier attempt if the platform already shows it (an id), else None.
        Called before every attempt after the first; ``since`` is when the first one began."""
        raise NotImplementedError

    def perform(self, action: OutboxAction, prepared: Any) -> str:
        """Do it (the I/O); returns the platform's id for the result, or ""."""
        raise NotImplementedError

    def on_sending(self, action: OutboxAction) -> None:
        """In the lease's transaction (the action is locked), which defers writes
        (``scrm.db.writes_deferred``): the action's row is not written yet, so read the action
        from the object given, never from the database."""

    def on_sent(self, action: OutboxAction, *, result: str, outcome: str) -> None:
        """In the closing transaction (the action is locked); ``outcome`` is ``sent`` or
        ``adopted`` (found on the platform)."""

    def on_failed(self, action: OutboxAction, *, reason: str) -> None:
        """In the closing transaction (the action is locked)."""

    def on_reopened(self, action: OutboxAction) -> None:
        """In the transaction that queues a failed action again (the action is locked)."""

    def reason(self, error: Exception) -> str:
        """The failure as the people who see the subject read it (no personal data)."""
        return str(error)[:300]

    @classmethod
    def finds(cls) -> bool:
        return cls.find is not Handler.find


_HANDLERS: dict[str, Handler] = {}


def outbox_handler_register(handler: Handler) -> None:
    """Make a kind deliverable. Keeps: one handler per kind, and a kind that is not idempotent
    looks on the platform before a retry (``find``), so that nothing is done twice."""
    if not handler.kind:
        raise ImproperlyConfigured(f"{type(handler).__name__} has no kind")
    if not (handler.idempotent or handler.finds()):
        raise ImproperlyConfigured(
            f"outbox kind {handler.kind!r}: define find() or declare it idempotent"
        )
    existing = _HANDLERS.get(handler.kind)
    if existing is not None and type(existing) is not type(handler):
        raise ImproperlyConfigured(f"outbox kind {handler.kind!r} registered twice")
    _HANDLERS[handler.kind] = handler


def required_id(value: int | None, what: str) -> int:
    """An id column a kind relies on (its subject); an action without it is a bug."""
    if value is None:
        raise ValueError(f"outbox action without its {what}")
    return value


def handler_for(kind: str) -> Handler:
    try:
        return _HANDLERS[kind]
    except KeyError:
        raise ImproperlyConfigured(f"no outbox handler for kind {kind!r}") from None


def outbox_failure_reason(action_id: int, error: Exception) -> str:
    """What the action's kind says about an error, in the words it shows people (read-only)."""
    kind = OutboxAction.objects.values_list("kind", flat=True).get(id=action_id)
    return handler_for(kind).reason(error)


def registered_kinds() -> list[str]:
    return sorted(_HANDLERS)


# --- asking for an action --------------------------------------------------------------------
def outbox_enqueue(
    *,
    kind: str,
    organisation_id: int,
    shop_account_id: int | None = None,
    conversation_id: int | None = None,
    message_id: int | None = None,
    subject_id: int | None = None,
    params: dict[str, Any] | None = None,
    coalesce_key: str = "",
) -> OutboxAction:
    """Store an action ``pending`` and queue its delivery when the caller's transaction commits.

    Call it inside the transaction of the change that asks for the action, so that both are
    stored or neither. With a ``coalesce_key``, an action of the same kind and key still waiting
    for its first attempt is returned instead of a second one (nothing new is queued).
    """
    handler_for(kind)  # an unknown kind fails here, not in a worker
    fields: dict[str, Any] = {
        "kind": kind,
        "organisation_id": organisation_id,
        "shop_account_id": shop_account_id,
        "conversation_id": conversation_id,
        "message_id": message_id,
        "subject_id": subject_id,
        "params": params or {},
        "coalesce_key": coalesce_key,
        "next_attempt_at": timezone.now(),
    }
    # The caller's transaction, without a savepoint of its own (two round trips fewer): a
    # failure here fails the caller's change with it.
    with transaction.atomic(savepoint=False):
        if coalesce_key:
            waiting = _waiting(kind, coalesce_key)
            if waiting is not None:
                return waiting
            try:
                with transaction.atomic():
                    action = OutboxAction.objects.create(**fields)
            except IntegrityError:
                waiting = _waiting(kind, coalesce_key)
                if waiting is None:
                    raise
                return waiting
        else:
            action = OutboxAction.objects.create(**fields)
        _queue_on_commit(action.id)
    return action


def _waiting(kind: str, coalesce_key: str) -> OutboxAction | None:
    return OutboxAction.objects.filter(
        kind=kind, coalesce_key=coalesce_key, state=OutboxState.PENDING
    ).first()


def _queue_on_commit(action_id: int) -> None:
    from inbox.tasks import deliver_outbox_action

    transaction.on_commit(lambda: deliver_outbox_action.delay(action_id))


@transaction.atomic
def outbox_reopen(*, action_id: int) -> OutboxAction:
    """Queue a failed action again (an agent's retry): ``pending``, due now, reason cleared.
    Its earlier attempts stay, so the next attempt still looks on the platform first."""
    action = OutboxAction.objects.select_for_update().get(id=action_id)
    if action.state != OutboxState.FAILED:
        return action
    action.state = OutboxState.PENDING
    action.failure_reason = ""
    action.next_attempt_at = action.opened_at = timezone.now()
    action.save(
        update_fields=["state", "failure_reason", "next_attempt_at", "opened_at", "updated_at"]
    )
    handler_for(action.kind).on_reopened(action)
    _queue_on_commit(action.id)
    return action


# --- one attempt -----------------------------------------------------------------------------
def outbox_deliver(*, action_id: int) -> str:
    """One attempt (the task's body). Returns the state it leaves the action in, or
    ``in_flight`` when another worker's attempt holds the lease.

    Retryable delivery errors and our own exceptions propagate (the task retries with backoff);
    definitive delivery errors fail the action.
    """
    # The reads compiled once (scrm.compiled); the writes in one round trip (PostgreSQL): the
    # action's and the subject's rows deferred, sent with the attempt's INSERT.
    with transaction.atomic(), writes_deferred():
        action = _action_locked(action_id)
        if action.state not in OPEN_STATES:
            return action.state
        handler = handler_for(action.kind)
        settled = handler.settled(action)
        if settled is not None:
            _close(action, settled)
            return settled
        now = timezone.now()
        # The earlier attempts, oldest first, in one read (an action has a handful at most).
        earlier = read_compiled("outbox.attempts", _attempts_of, action.pk)
        lease_start = now - delivery_lease()
        if any(finished is None and started > lease_start for started, finished, _ in earlier):
            # Another worker is talking to the platform about this right now (a duplicate task,
            # a broker redelivery, the sweep): it alone may act.
            return IN_FLIGHT
        first_started = earlier[0][0] if earlier else None
        # An earlier attempt the platform answered but whose record failed: adopt its answer
        # (the latest such).
        known = next((result for _, _, result in reversed(earlier) if result), None)
        action.state = OutboxState.SENDING
        # A worker that dies inside this attempt is noticed once its lease has run out.
        action.next_attempt_at = now + delivery_lease()
        row_update(action, ["state", "next_attempt_at", "updated_at"], defer=True)
        handler.on_sending(action)
        attempt = OutboxAttempt(action=action, started_at=now)
        insert_rows([attempt])  # with the writes above, in their order
    # Committed: a crash from here on leaves a visible "sending" action with an open attempt,
    # which the next attempt (task retry or the sweep) resolves.
    if known:
        return _record_sent(action.id, known, attempt, "adopted")
    try:
        prepared = handler.prepare(action)
        result = None
        if first_started is not None and handler.finds():
            result = handler.find(action, prepared, since=first_started)
        outcome = "adopted" if result else "sent"
        if result is None:
            result = handler.perform(action, prepared)
    except Exception as exc:
        retryable = delivery_error_retryable(exc)
        if retryable is None:
            # Never leave the attempt open: the next one checks the platform before acting.
            _attempt_finish(attempt, "error", type(exc).__name__)
            raise
        reason = handler.reason(exc)
        if retryable:
            _attempt_finish(attempt, "retry", reason)
            raise
        outbox_fail(action_id=action.id, reason=reason, attempt=attempt)
        return OutboxState.FAILED
    return _record_sent(action.id, result or "", attempt, outcome)


def _record_sent(action_id: int, result: str, attempt: OutboxAttempt, outcome: str) -> str:
    try:
        _mark_sent(action_id, result, attempt, outcome)
    except Exception as exc:
        # The platform has it; our record of it failed (a deadlock, a lost connection) and rolled
        # back. The attempt is closed with the platform's answer, so that the task's retry runs
        # now and adopts it, instead of finding the attempt open, answering "in flight" and
        # leaving the reply to the sweep after the lease (minutes).
        _attempt_finish(attempt, "error", type(exc).__name__, result=result)
        raise
    return OutboxState.SENT


def _action_locked(action_id: int) -> OutboxAction:
    """The action, its row locked (a read compiled once: every attempt makes two)."""
    found = instances_compiled("outbox.action_locked", OutboxAction, _action_lock, action_id)
    if not found:
        raise OutboxAction.DoesNotExist(f"no outbox action {action_id}")
    return found[0]


def _action_lock(action_id: int) -> QuerySet[OutboxAction]:
    return OutboxAction.objects.select_for_update().filter(id=action_id)


def _attempts_of(action_id: int) -> QuerySet[Any]:
    return (
        OutboxAttempt.objects.filter(action_id=action_id)
        .order_by("started_at", "id")
        .values_list("started_at", "finished_at", "result")
    )


def delivery_error_retryable(error: BaseException) -> bool | None:
    """True or False for a delivery error (one with a boolean ``retryable``), None otherwise."""
    retryable = getattr(error, "retryable", None)
    return retryable if isinstance(retryable, bool) else None


def _attempt_finish(
    attempt: OutboxAttempt,
    outcome: str,
    error: str = "",
    *,
    result: str = "",
    defer: bool = False,
) -> None:
    """Close an attempt still open (one already closed, e.g. recorded sent before a callback
    on its commit raised, is left as it is). ``defer``: inside ``writes_deferred``, with the
    block's next statement (``scrm.db.statement_deferred``)."""
    values = {
        "finished_at": timezone.now(),
        "outcome": outcome,
        "error": error[:300],
        "result": result[:128],
    }
    if not defer:
        OutboxAttempt.objects.filter(id=attempt.id, finished_at__isnull=True).update(**values)
        return
    connection = connections[router.db_for_write(OutboxAttempt)]
    sql, fields = _attempt_finish_sql(connection, tuple(values))
    params = [f.get_db_prep_save(values[f.name], connection) for f in fields]
    statement_deferred(sql, [*params, attempt.pk], using=connection.alias)


_FINISH_SQL: dict[tuple[str, tuple[str, ...]], tuple[str, list[Any]]] = {}


def _attempt_finish_sql(connection: Any, names: tuple[str, ...]) -> tuple[str, list[Any]]:
    """``UPDATE … SET <names> WHERE id = %s AND finished_at IS NULL`` and the fields it sets,
    in order, built once."""
    key = (connection.alias, names)
    if key not in _FINISH_SQL:
        qn = connection.ops.quote_name
        by_name = {f.name: f for f in OutboxAttempt._meta.concrete_fields}
        fields = [by_name[name] for name in names]
        sets = ", ".join(f"{qn(f.column)} = %s" for f in fields)
        _FINISH_SQL[key] = (
            f"UPDATE {qn(OutboxAttempt._meta.db_table)} SET {sets} "  # noqa: S608 - own names
            f"WHERE {qn(by_name['id'].column)} = %s AND {qn(by_name['finished_at'].column)} "
            "IS NULL",
            fields,
        )
    return _FINISH_SQL[key]


def _close(
    action: OutboxAction,
    state: str,
    *,
    result: str = "",
    reason: str = "",
    defer: bool = False,
) -> None:
    action.state = state
    action.next_attempt_at = None
    action.failure_reason = reason[:300]
    fields = ["state", "next_attempt_at", "failure_reason", "updated_at"]
    if result:
        action.result = result[:128]
        fields.append("result")
    row_update(action, fields, defer=defer)


@transaction.atomic
def _mark_sent(action_id: int, result: str, attempt: OutboxAttempt, outcome: str) -> None:
    # What the closing transaction writes and nothing in it reads back (the subject's
    # gathered row, metrics' marks, the action's and the attempt's closing) goes with its
    # events' one INSERT, in one round trip (PostgreSQL; at once elsewhere).
    with writes_deferred(), events_gathered():
        action = _action_locked(action_id)
        handler_for(action.kind).on_sent(action, result=result, outcome=outcome)
        _close(action, OutboxState.SENT, result=result, defer=True)
        _attempt_finish(attempt, outcome, defer=True)


@transaction.atomic
def outbox_fail(*, action_id: int, reason: str, attempt: OutboxAttempt | None = None) -> None:
    """Give up on an action: ``failed`` with the reason (its kind shows it where people look).

    An action that already ended, or whose subject reached its end another way, is left so."""
    action = OutboxAction.objects.select_for_update().get(id=action_id)
    if action.state == OutboxState.SENT:
        return
    handler = handler_for(action.kind)
    if handler.settled(action) == OutboxState.SENT:
        _close(action, OutboxState.SENT)
        return
    handler.on_failed(action, reason=reason)
    _close(action, OutboxState.FAILED, reason=reason)
    if attempt is not None:
        _attempt_finish(attempt, "failed", reason)


def outbox_next_attempt_set(*, action_id: int, at: datetime) -> None:
    """Record when the task will try again (its retry countdown), so that the sweep can tell
    an action waiting its turn from one whose worker died. An ended action is left alone."""
    OutboxAction.objects.filter(id=action_id, state__in=OPEN_STATES).update(next_attempt_at=at)


# --- the sweep -------------------------------------------------------------------------------
def outbox_stuck(*, now: datetime | None = None) -> list[int]:
    """Open actions a lost task or a dead worker left behind: a grace period late for their
    recorded next attempt (at once for a new action, the end of an attempt's lease, or a retry
    countdown), oldest first.

    Going by the row, not by the broker: a worker killed with retries waiting in its memory
    holds them unacknowledged until Redis's visibility timeout (an hour), and a shorter
    visibility timeout would re-deliver every task waiting on a long countdown.
    """
    now = now or timezone.now()
    return list(
        _late(now).order_by("next_attempt_at", "id").values_list("id", flat=True)[:SWEEP_BATCH]
    )


def outbox_stuck_claim(*, now: datetime | None = None) -> list[int]:
    """The stuck actions, each claimed for one lease (its next attempt moved to the lease's end)
    by a conditional update: the sweep queues an action once per lease, not on every run while a
    backlog of tasks holds the queue back, and two sweeps never queue the same one."""
    now = now or timezone.now()
    claimed: list[int] = []
    for action_id in outbox_stuck(now=now):
        won = _late(now).filter(id=action_id).update(next_attempt_at=now + delivery_lease())
        if won:
            claimed.append(action_id)
    return claimed


def _late(now: datetime) -> QuerySet[OutboxAction]:
    return OutboxAction.objects.filter(
        state__in=OPEN_STATES, next_attempt_at__lt=now - sweep_grace()
    )


def outbox_give_up_stale(*, now: datetime | None = None) -> int:
    """Actions still open past their kind's ``max_age`` (a day, from when it was created or
    last reopened by a retry) fail visibly: a buyer must not receive a day-old answer
    unnoticed; the agent may retry it."""
    now = now or timezone.now()
    stale_by_kind = Q()
    for kind, handler in _HANDLERS.items():
        stale_by_kind |= Q(kind=kind, opened_at__lt=now - handler.max_age)
    if not stale_by_kind:
        return 0
    stale = list(
        OutboxAction.objects.filter(stale_by_kind, state__in=OPEN_STATES)
        .order_by("id")
        .values_list("id", "kind")[:SWEEP_BATCH]
    )
    for action_id, kind in stale:
        outbox_fail(action_id=action_id, reason=handler_for(kind).stale_reason)
    return len(stale)
