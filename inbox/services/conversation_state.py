"""One place for a conversation's state: its status (with ``snoozed_until``), the buyer's wait
(``waiting_since``) and the queue's sort key (``queue_key``).

Nothing else writes these four fields (a test scans the source for a second writer). Every
change goes through :func:`conversation_transition`, which

* checks the move against ``TRANSITIONS`` (the table below: what may happen, and what each
  automatic trigger does);
* recomputes the wait from the stored messages when messages changed: ``waiting_since`` is the
  oldest visible buyer message at or after the last human answer (sent or received), and
  ``queue_key`` is it, or ``ANSWERED_SENTINEL`` once answered (never null, so the queue's index
  and cursor can order on it);
* writes the row and the audit event of a status change (a person's, the snooze's end, or a
  reopen by a buyer message), in the caller's transaction;
* returns a :class:`StateChange` (before and after), and hands it to every subscriber.

Subscribers (``conversation_state_subscribe``) are how SLA deadlines, inbound screening and
metrics follow the state without writing it: each is called with every change that changed
something, inside the transaction, right after the row is written (during a store, when the
store's one UPDATE of it is still to come: ``conversation_writes_gathered``), in the order
they subscribed. A subscriber may write its own rows (they commit or roll back with the change);
it must not do I/O (use ``transaction.on_commit`` for that); an exception it raises rolls the
whole change back. Real-time events stay with the calling service, which publishes the
conversation once per operation whatever changed.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection
from django.db.models import Max, Min, QuerySet

from inbox.models import (
    ANSWERED_SENTINEL,
    Conversation,
    ConversationStatus,
    DeliveryState,
    Direction,
    Message,
)
from inbox.selectors import AnyUser
from monitoring.audit import audit_record
from monitoring.audit_log.address import request_address
from scrm.api import ServiceError
from scrm.db import row_update, savepoint_depth
from scrm.hooks import Hook

OPEN = ConversationStatus.OPEN.value
PENDING = ConversationStatus.PENDING.value
SNOOZED = ConversationStatus.SNOOZED.value
RESOLVED = ConversationStatus.RESOLVED.value
STATUSES = frozenset(ConversationStatus.values)

# Platform sender roles whose message answers the buyer (a seller's or an agent's, not the
# platform's robot or system notices).
HUMAN_ROLES = ("SHOP", "CUSTOMER_SERVICE")
_ANSWER_STATES = (DeliveryState.SENT, DeliveryState.RECEIVED)


def human_answers(conversation_id: int) -> QuerySet[Message]:
    """A person's answers in the conversation — visible, sent by the shop or its customer
    service, on the platform: what ends a buyer's wait here, and for the SLA tracker and the
    response figures. ``is_human_answer`` is the same rule for a message in hand."""
    return Message.objects.filter(
        conversation_id=conversation_id,
        is_visible=True,
        direction=Direction.OUTBOUND,
        sender_role__in=HUMAN_ROLES,
        delivery_state__in=list(_ANSWER_STATES),
    )


def is_human_answer(message: Message) -> bool:
    """What ``human_answers`` selects, for a message in hand."""
    return (
        message.is_visible
        and message.direction == Direction.OUTBOUND
        and message.sender_role in HUMAN_ROLES
        and message.delivery_state in _ANSWER_STATES
    )


class Trigger(enum.StrEnum):
    """What moves a conversation."""

    AGENT = "agent"  # a person sets the status (queue, header, bulk actions, the API)
    SNOOZE_ENDED = "snooze_ended"  # the snooze's time came (the periodic wake-up)
    BUYER_MESSAGE = "buyer_message"  # new visible buyer messages were stored
    MESSAGES_CHANGED = "messages_changed"  # other messages stored, or our reply delivered


# (trigger, status before) → the statuses it may leave the conversation in. A pair that is not
# here is refused; each automatic trigger has exactly one outcome.
TRANSITIONS: Mapping[tuple[Trigger, str], frozenset[str]] = {
    # A person may move a conversation from any status to any status (snoozing needs a time).
    **{(Trigger.AGENT, before): STATUSES for before in STATUSES},
    # The snooze's time came: back to open.
    (Trigger.SNOOZE_ENDED, SNOOZED): frozenset({OPEN}),
    # The buyer writes: a resolved or snoozed conversation reopens; open and pending stay.
    (Trigger.BUYER_MESSAGE, OPEN): frozenset({OPEN}),
    (Trigger.BUYER_MESSAGE, PENDING): frozenset({PENDING}),
    (Trigger.BUYER_MESSAGE, SNOOZED): frozenset({OPEN}),
    (Trigger.BUYER_MESSAGE, RESOLVED): frozenset({OPEN}),
    # Our answer, or any other message: the wait is recomputed, the status stays.
    **{(Trigger.MESSAGES_CHANGED, before): frozenset({before}) for before in STATUSES},
}
# The triggers after which the wait is recomputed from the stored messages.
WAIT_FROM_MESSAGES = frozenset({Trigger.BUYER_MESSAGE, Trigger.MESSAGES_CHANGED})
# The audit action of a status change, by trigger (a person's is audited even when the status
# stays, as the request it answers).
AUDIT_ACTIONS: Mapping[Trigger, str] = {
    Trigger.AGENT: "conversation.status_changed",
    Trigger.SNOOZE_ENDED: "conversation.woke",
    Trigger.BUYER_MESSAGE: "conversation.reopened",
}


@dataclass(frozen=True)
class ConversationState:
    status: str
    snoozed_until: datetime | None
    waiting_since: datetime | None
    queue_key: datetime

    @classmethod
    def of(cls, conversation: Conversation) -> ConversationState:
        return cls(
            status=conversation.status,
            snoozed_until=conversation.snoozed_until,
            waiting_since=conversation.waiting_since,
            queue_key=conversation.queue_key,
        )


@dataclass(frozen=True)
class StateChange:
    """What one transition did to one conversation."""

    conversation_id: int
    organisation_id: int
    shop_account_id: int
    trigger: Trigger
    actor_id: int | None
    before: ConversationState
    after: ConversationState
    # Every message of the conversation, when the transition knew them all (ingestion creating
    # it with its first messages): subscribers then read none (no deadline, fact or answer can
    # exist yet). None: read what you need.
    history: tuple[Message, ...] | None = None
    # The conversation's last visible buyer message after the change (as the row will hold it:
    # its write may be gathered until the operation ends, ``conversation_writes_gathered``).
    last_buyer_message_at: datetime | None = None

    @property
    def changed(self) -> bool:
        return self.before != self.after

    @property
    def status_changed(self) -> bool:
        return self.before.status != self.after.status

    @property
    def wait_changed(self) -> bool:
        return self.before.waiting_since != self.after.waiting_since


class TransitionRefused(ServiceError):
    """A move the table does not allow (409): e.g. waking a conversation that is not snoozed."""

    def __init__(self, trigger: Trigger, before: str, to: str | None) -> None:
        super().__init__(
            "This conversation cannot move to that status now.",
            code="transition_refused",
            status_code=409,
            details={"trigger": str(trigger), "from": before, "to": to},
        )


StateSubscriber = Callable[[StateChange], None]

# Every change that changed something (see the module's docstring for what a subscriber may
# do); ``scrm.hooks.Hook``: subscribing twice is once, usable as a decorator.
conversation_state_changed: Hook[StateChange] = Hook("conversation.state_changed")
conversation_state_subscribe = conversation_state_changed.subscribe
conversation_state_unsubscribe = conversation_state_changed.unsubscribe


def status_request_check(status: str, snoozed_until: datetime | None) -> None:
    """A person's requested status, checked before anything is read (400 ``invalid``)."""
    if status not in STATUSES:
        raise ServiceError("Unknown status.", code="invalid", details={"status": status})
    if status == SNOOZED and snoozed_until is None:
        raise ServiceError(
            "Snoozing needs a time to wake up.", code="invalid", details={"snoozed_until": None}
        )


def conversation_transition(
    *,
    conversation: Conversation,
    trigger: Trigger,
    actor: AnyUser | None = None,
    status: str | None = None,
    snoozed_until: datetime | None = None,
    save_also: Iterable[str] = (),
    newer_messages: Sequence[Message] | None = None,
    newer_are_all: bool = False,
) -> StateChange:
    """Move a conversation's state: the one writer of its status, ``snoozed_until``,
    ``waiting_since`` and ``queue_key``.

    ``newer_messages`` (ingestion): the messages just stored, when each visible one is newer
    than every other visible message of the conversation; the wait then follows from them and
    the stored one, reading no message (``_waiting_since_after``). ``newer_are_all``: they are
    all the conversation has (it was created with them): the change carries them as its
    ``history``.

    Call inside the caller's transaction with the conversation's row locked. ``status`` (and
    ``snoozed_until`` for a snooze) only with ``Trigger.AGENT``; the other triggers' outcome is
    the table's. ``save_also`` names other fields the caller set on the same row, written in
    the same UPDATE (ingestion's preview and unread count: one write on the hot path).

    Keeps: a move missing from ``TRANSITIONS`` raises ``TransitionRefused`` and writes nothing;
    ``snoozed_until`` is set exactly while snoozed; a status change is audited in the
    transaction (``AUDIT_ACTIONS``); subscribers see every change that changed something.
    """
    before = ConversationState.of(conversation)
    target = _target(trigger, before.status, status, snoozed_until)
    if target == SNOOZED:
        snoozed_until = snoozed_until if trigger == Trigger.AGENT else before.snoozed_until
    else:
        snoozed_until = None
    fields = ["status", "snoozed_until", *save_also, "updated_at"]
    conversation.status, conversation.snoozed_until = target, snoozed_until
    if trigger in WAIT_FROM_MESSAGES:
        conversation.waiting_since = (
            _waiting_since(conversation)
            if newer_messages is None
            else _waiting_since_after(conversation, newer_messages)
        )
        conversation.queue_key = conversation.waiting_since or ANSWERED_SENTINEL
        fields += ["waiting_since", "queue_key"]
    if not _gathered_write(conversation, fields):
        row_update(conversation, fields)
    change = StateChange(
        conversation_id=conversation.pk,
        organisation_id=conversation.organisation_id,
        shop_account_id=conversation.shop_account_id,
        trigger=trigger,
        actor_id=actor.pk if actor is not None and actor.is_authenticated else None,
        before=before,
        after=ConversationState.of(conversation),
        history=tuple(newer_messages) if newer_are_all and newer_messages is not None else None,
        last_buyer_message_at=conversation.last_buyer_message_at,
    )
    if trigger == Trigger.AGENT or change.status_changed:
        audit_record(
            organisation_id=conversation.organisation_id,
            actor=actor,
            action=AUDIT_ACTIONS[trigger],
            shop_account_id=conversation.shop_account_id,
            # A person's change carries their address; a buyer's message or a snooze's end
            # (the platform's webhook, a worker) none.
            ip=request_address() if trigger == Trigger.AGENT else None,
            target=conversation,
            data={"from": before.status, "to": target},
        )
    if change.changed:
        conversation_state_changed.emit(change)
    return change


# --- one UPDATE for an operation's writes of one conversation ----------------------------------
@dataclass
class _Gathered:
    conversation: Conversation
    depth: int  # the savepoints open when the gathering began
    fields: set[str] = field(default_factory=set)
    due_key: datetime | None = None  # the SLA tracker's, waiting (None: not set in the block)


_gathered: ContextVar[_Gathered | None] = ContextVar("conversation_writes", default=None)


@contextmanager
def conversation_writes_gathered(conversation: Conversation) -> Iterator[None]:
    """Write ``conversation``'s row once, when the block ends, with what the block changed:
    the transition's fields (``conversation_transition``) and the queue's due key the SLA
    tracker sets meanwhile (``inbox.services.sla_keys``) — one UPDATE where there were two.
    Ingestion stores a batch inside it, with the row locked.

    Keeps: the row holds at the block's end what the writes one by one would have left; what
    the subscribers read of the conversation comes from the instance or the ``StateChange``
    (``last_buyer_message_at``), never the row, while a write waits (the due key: the instance
    keeps the value read under the lock until the block ends); a write of the conversation
    inside a savepoint opened within the block, or through another instance of it, is refused
    (RuntimeError: no order of it and the waiting writes would be right whatever the
    savepoint's end; nothing in a store does either); an exception leaves the row unwritten
    (the transaction rolls back with it)."""
    gathered = _Gathered(conversation, _savepoints())
    token = _gathered.set(gathered)
    try:
        yield
    finally:
        _gathered.reset(token)
    if gathered.due_key is not None:
        conversation.sla_due_at = gathered.due_key  # sla_keys' value, carried to the UPDATE
    if gathered.fields:
        # Sent with the store's next statement when it defers writes (scrm.db.writes_deferred).
        row_update(conversation, sorted(gathered.fields), defer=True)


def _savepoints() -> int:
    return savepoint_depth(connection)


def _gathering_for(
    conversation_id: int | None, instance: Conversation | None = None
) -> _Gathered | None:
    gathered = _gathered.get()
    if gathered is None or conversation_id is None or gathered.conversation.pk != conversation_id:
        return None
    if _savepoints() != gathered.depth:
        raise RuntimeError("a conversation whose writes are gathered was written in a savepoint")
    if instance is not None and instance is not gathered.conversation:
        raise RuntimeError("a conversation whose writes are gathered was written through a copy")
    return gathered


def _gathered_write(conversation: Conversation, fields: Iterable[str]) -> bool:
    gathered = _gathering_for(conversation.pk, conversation)
    if gathered is None:
        return False
    gathered.fields.update(fields)
    return True


def conversation_due_key_gathered(conversation_id: int, due: datetime) -> bool:
    """The queue's due key of a conversation whose writes are being gathered, to be written
    with them (``conversation_writes_gathered``); False when they are not (``sla_keys`` writes
    it itself). A value equal to the one the row will hold adds nothing to the UPDATE."""
    gathered = _gathering_for(conversation_id)
    if gathered is None:
        return False
    waiting = gathered.due_key if gathered.due_key is not None else gathered.conversation.sla_due_at
    if waiting != due:
        gathered.due_key = due
        gathered.fields.add("sla_due_at")
    return True


def _target(
    trigger: Trigger, before: str, status: str | None, snoozed_until: datetime | None
) -> str:
    allowed = TRANSITIONS.get((trigger, before), frozenset())
    if trigger == Trigger.AGENT:
        if status is None:
            raise TypeError("a person's transition names the status")
        status_request_check(status, snoozed_until)
        if status not in allowed:
            raise TransitionRefused(trigger, before, status)
        return status
    if status is not None or len(allowed) != 1:
        raise TransitionRefused(trigger, before, status)
    (target,) = allowed
    return target


def _waiting_since_after(conversation: Conversation, newer: Sequence[Message]) -> datetime | None:
    """``_waiting_since`` after ``newer`` messages, each later than every visible message
    before them, given the stored wait (exact: this module is its one writer and recomputes it
    whenever messages change). A human answer among them decides alone: the buyer messages
    after it (older ones are all before it); else the wait goes on, or starts with them."""
    visible = [m for m in newer if m.is_visible]
    answers = [m.sent_at for m in visible if is_human_answer(m)]
    buyer = [m.sent_at for m in visible if m.direction == Direction.INBOUND]
    if answers:
        answered = max(answers)
        return min((t for t in buyer if t >= answered), default=None)
    if conversation.waiting_since is not None:
        return conversation.waiting_since
    return min(buyer, default=None)


def _waiting_since(conversation: Conversation) -> datetime | None:
    """The oldest visible buyer message at or after the last human answer (None: answered)."""
    last_human = human_answers(conversation.pk).aggregate(t=Max("sent_at"))["t"]
    inbound = Message.objects.filter(
        conversation=conversation, is_visible=True, direction=Direction.INBOUND
    )
    # Platform times are whole seconds: a buyer message in the very second of the last human
    # answer may have come after it, so it counts as waiting (never hide a question).
    waiting = inbound.filter(sent_at__gte=last_human) if last_human else inbound
    return waiting.aggregate(t=Min("sent_at"))["t"]
