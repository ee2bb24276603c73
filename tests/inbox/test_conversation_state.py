"""One place for a conversation's state (inbox/services/conversation_state.py): each transition
as a user sees it, what the service returns and tells its subscribers, and a scan of the source
that fails when a second writer of status, snoozed_until, waiting_since or queue_key appears."""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.utils import timezone

from inbox.models import ANSWERED_SENTINEL, Conversation, Message
from inbox.platforms.base import Participant, PlatformMessage
from inbox.services import conversations as work
from inbox.services.conversation_state import (
    TRANSITIONS,
    StateChange,
    TransitionRefused,
    Trigger,
    conversation_state_subscribe,
    conversation_state_unsubscribe,
    conversation_transition,
)
from inbox.services.ingestion import messages_store
from monitoring.models import AuditEvent
from scrm.api import ServiceError
from tests.inbox.builders import conversation_with_messages
from tests.statements import statements_of

pytestmark = pytest.mark.django_db

ALL = {"open", "pending", "snoozed", "resolved"}


@pytest.fixture
def changes():
    """Every StateChange the service hands its subscribers during the test, with whether it
    came inside a transaction."""
    seen: list[tuple[StateChange, bool]] = []

    def subscriber(change: StateChange) -> None:
        seen.append((change, connection.in_atomic_block))

    conversation_state_subscribe(subscriber)
    yield seen
    conversation_state_unsubscribe(subscriber)


def _stored(conversation: Conversation, role: str, text: str, at: datetime) -> None:
    """A message seen on the platform, stored by ingestion (as a webhook or the backfill does)."""
    messages_store(
        shop=conversation.shop_account,
        conversation_id=conversation.platform_conversation_id,
        messages=[
            PlatformMessage(
                message_id=f"pm-{role}-{conversation.id}-{at.timestamp():.0f}",
                conversation_id=conversation.platform_conversation_id,
                type="TEXT",
                content={"content": text},
                create_time=at,
                sender=Participant(role=role, im_user_id=f"im-{role}-{conversation.id}"),
            )
        ],
    )


def _buyer_writes(conversation: Conversation, text: str, at: datetime) -> None:
    _stored(conversation, "BUYER", text, at)


def _seller_answers(conversation: Conversation, text: str, at: datetime) -> None:
    """The seller's answer (typed in Seller Center, or our reply synced)."""
    _stored(conversation, "CUSTOMER_SERVICE", text, at)


def _set(actor, conversation, status, until=None):
    return work.conversation_set_status(
        actor=actor, conversation_id=conversation.id, status=status, snoozed_until=until
    )


def _audits(conversation, action):
    return list(
        AuditEvent.objects.filter(target_id=str(conversation.id), action=action)
        .order_by("id")
        .values_list("data", flat=True)
    )


# --- the table, as it was before it was written down ------------------------------------------
def test_the_table_allows_exactly_what_the_product_allowed_before():
    expected = {(Trigger.AGENT, before): ALL for before in ALL}
    expected |= {(Trigger.SNOOZE_ENDED, "snoozed"): {"open"}}
    expected |= {
        (Trigger.BUYER_MESSAGE, "open"): {"open"},
        (Trigger.BUYER_MESSAGE, "pending"): {"pending"},
        (Trigger.BUYER_MESSAGE, "snoozed"): {"open"},
        (Trigger.BUYER_MESSAGE, "resolved"): {"open"},
    }
    expected |= {(Trigger.MESSAGES_CHANGED, before): {before} for before in ALL}
    assert {key: set(targets) for key, targets in TRANSITIONS.items()} == expected


# --- a person -------------------------------------------------------------------------------
def test_a_person_moves_a_conversation_between_any_two_statuses(world, changes):
    conversation = conversation_with_messages(world.shop_a1)
    until = timezone.now() + timedelta(hours=3)
    for before in sorted(ALL):
        for after in sorted(ALL):
            _set(world.agent_a1, conversation, before, until if before == "snoozed" else None)
            _set(world.agent_a1, conversation, after, until if after == "snoozed" else None)
            conversation.refresh_from_db()
            assert conversation.status == after, (before, after)
            # snoozed_until exactly while snoozed; the wait is not a person's to change
            assert (conversation.snoozed_until is not None) == (after == "snoozed")
            assert conversation.waiting_since is not None
    # every request audited as the person's, with from and to
    audited = _audits(conversation, "conversation.status_changed")
    assert len(audited) == 2 * len(ALL) ** 2
    assert audited[-1] == {"from": "snoozed", "to": "snoozed"}
    assert all(inside for _, inside in changes)


def test_a_person_must_name_a_known_status_and_a_snooze_needs_its_time(world):
    conversation = conversation_with_messages(world.shop_a1)
    for status, until in (("closed", None), ("snoozed", None)):
        with pytest.raises(ServiceError) as refused:
            _set(world.agent_a1, conversation, status, until)
        assert refused.value.code == "invalid"
    conversation.refresh_from_db()
    assert conversation.status == "open"
    assert not _audits(conversation, "conversation.status_changed")


# --- the snooze's end -------------------------------------------------------------------------
def test_a_snoozed_conversation_wakes_when_its_time_comes_and_not_before(world, changes):
    due = conversation_with_messages(world.shop_a1)
    later = conversation_with_messages(world.shop_a1)
    _set(world.agent_a1, due, "snoozed", timezone.now() + timedelta(hours=1))
    _set(world.agent_a1, later, "snoozed", timezone.now() + timedelta(days=1))
    Conversation.objects.filter(pk=due.pk).update(snoozed_until=timezone.now())  # time passes
    changes.clear()

    assert work.conversations_wake_snoozed() == 1

    due.refresh_from_db()
    later.refresh_from_db()
    assert (due.status, due.snoozed_until) == ("open", None)
    assert later.status == "snoozed"
    assert _audits(due, "conversation.woke") == [{"from": "snoozed", "to": "open"}]
    [(change, _)] = changes
    assert (change.trigger, change.before.status, change.after.status) == (
        Trigger.SNOOZE_ENDED,
        "snoozed",
        "open",
    )


def test_waking_a_conversation_that_is_not_snoozed_is_refused(world):
    conversation = conversation_with_messages(world.shop_a1)
    with pytest.raises(TransitionRefused), transaction.atomic():
        conversation_transition(conversation=conversation, trigger=Trigger.SNOOZE_ENDED)
    conversation.refresh_from_db()
    assert conversation.status == "open"


# --- the buyer writes ----------------------------------------------------------------------
@pytest.mark.parametrize("before", ["resolved", "snoozed"])
def test_a_buyer_message_reopens_a_resolved_or_snoozed_conversation_and_is_audited(
    world, changes, before
):
    # Given a conversation the seller answered and then resolved (or snoozed)
    asked = timezone.now().replace(microsecond=0) - timedelta(hours=2)
    conversation = conversation_with_messages(world.shop_a1, at=asked)
    _seller_answers(conversation, "Shipped today.", asked + timedelta(minutes=5))
    _set(world.agent_a1, conversation, before, timezone.now() + timedelta(days=1))
    conversation.refresh_from_db()
    assert conversation.waiting_since is None and conversation.queue_key == ANSWERED_SENTINEL
    changes.clear()

    # When the buyer writes again
    again = asked + timedelta(hours=1)
    _buyer_writes(conversation, "Still not here.", again)

    # Then it is open, waiting since that message, first in the queue's order, and the
    # reopen is audited (nobody's action: the buyer's)
    conversation.refresh_from_db()
    assert (conversation.status, conversation.snoozed_until) == ("open", None)
    assert conversation.waiting_since == again == conversation.queue_key
    [reopened] = AuditEvent.objects.filter(
        target_id=str(conversation.id), action="conversation.reopened"
    )
    assert reopened.data == {"from": before, "to": "open"} and reopened.actor_id is None
    [(change, inside)] = changes
    assert inside and change.trigger == Trigger.BUYER_MESSAGE
    assert (change.before.status, change.after.status) == (before, "open")
    assert (change.before.waiting_since, change.after.waiting_since) == (None, again)
    assert change.status_changed and change.wait_changed


@pytest.mark.parametrize("status", ["open", "pending"])
def test_a_buyer_message_leaves_open_and_pending_as_they_are(world, status):
    conversation = conversation_with_messages(world.shop_a1)
    _set(world.agent_a1, conversation, status)
    _buyer_writes(conversation, "Any news?", timezone.now().replace(microsecond=0))
    conversation.refresh_from_db()
    assert conversation.status == status
    assert conversation.unread_count == 2
    assert not _audits(conversation, "conversation.reopened")


# --- an answer ------------------------------------------------------------------------------
def test_an_answer_ends_the_wait_and_never_changes_the_status(world, changes):
    # Given a pending conversation whose buyer has waited 30 minutes
    asked = timezone.now().replace(microsecond=0) - timedelta(minutes=30)
    conversation = conversation_with_messages(world.shop_a1, at=asked)
    _set(world.agent_a1, conversation, "pending")
    changes.clear()

    # When the seller's answer is stored
    _seller_answers(conversation, "Let me check.", asked + timedelta(minutes=10))

    # Then nobody waits, the queue sorts it after the waiting ones, and it is still pending
    conversation.refresh_from_db()
    assert conversation.status == "pending"
    assert (conversation.waiting_since, conversation.queue_key) == (None, ANSWERED_SENTINEL)
    [(change, _)] = changes
    assert change.trigger == Trigger.MESSAGES_CHANGED and not change.status_changed
    assert (change.before.waiting_since, change.after.queue_key) == (asked, ANSWERED_SENTINEL)


def test_a_buyer_message_in_the_second_of_the_answer_still_waits(world):
    asked = timezone.now().replace(microsecond=0) - timedelta(minutes=5)
    conversation = conversation_with_messages(world.shop_a1, at=asked)
    _seller_answers(conversation, "Yes.", asked + timedelta(minutes=1))
    _buyer_writes(conversation, "And the colour?", asked + timedelta(minutes=1))
    conversation.refresh_from_db()
    assert conversation.waiting_since == asked + timedelta(minutes=1)


# --- subscribers -----------------------------------------------------------------------------
def test_a_failing_subscriber_rolls_the_change_back(world):
    conversation = conversation_with_messages(world.shop_a1)

    def refuse(change: StateChange) -> None:
        raise RuntimeError("the SLA could not open its deadline")

    conversation_state_subscribe(refuse)
    try:
        with pytest.raises(RuntimeError):
            _set(world.agent_a1, conversation, "resolved")
    finally:
        conversation_state_unsubscribe(refuse)
    conversation.refresh_from_db()
    assert conversation.status == "open"
    assert not _audits(conversation, "conversation.status_changed")


def test_subscribers_hear_only_changes_that_changed_something(world, changes):
    conversation = conversation_with_messages(world.shop_a1)
    changes.clear()
    _set(world.agent_a1, conversation, "open")  # already open: audited, nothing changed
    assert changes == []
    assert len(_audits(conversation, "conversation.status_changed")) == 1


# --- a second writer --------------------------------------------------------------------------
ROOT = Path(__file__).resolve().parents[2]
APPS = ("inbox", "scrm", "monitoring", "templates_app")
OWNER = Path("inbox/services/conversation_state.py")
# Read-only copies of a conversation's columns, never saved (the queue page's rows): they set
# the state fields on their own objects. The test below holds them to writing nothing.
READ_ONLY_ROWS = Path("inbox/selectors/queue_rows.py")
STATE_ONLY = {"waiting_since", "queue_key", "snoozed_until"}  # names only a conversation has
WRITES = {"update", "create", "get_or_create", "update_or_create", "bulk_create", "bulk_update"}


def _is_conversation(node: ast.AST) -> bool:
    """An expression that names a conversation: ``conversation.x``, ``Conversation.objects…``."""
    text = ast.unparse(node).lower()
    return "conversation" in text and "webhook" not in text


def _writers(
    tree: ast.AST, fields: set[str] = STATE_ONLY, status: bool = True
) -> list[tuple[int, str]]:
    """Writes of ``fields`` (and of a conversation's status, with ``status``)."""
    found = []
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        flat = [t for target in targets for t in ast.walk(target)]  # a, b = ... too
        for target in flat:
            if isinstance(target, ast.Attribute) and (
                target.attr in fields
                or (target.attr == "status" and status and _is_conversation(target))
            ):
                found.append((node.lineno, ast.unparse(target)))
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else ""
        keywords = {k.arg for k in node.keywords}
        if name in WRITES and (
            keywords & fields or (status and "status" in keywords and _is_conversation(node.func))
        ):
            found.append((node.lineno, ast.unparse(node.func)))
        saved = [
            k.value
            for k in node.keywords
            if k.arg == "update_fields" or (k.arg == "fields" and name == "bulk_update")
        ]
        called = node.func.id if isinstance(node.func, ast.Name) else name
        if called == "row_update" and node.args[1:]:  # scrm.db.row_update(obj, fields)
            listed = {c.value for c in ast.walk(node.args[1]) if isinstance(c, ast.Constant)}
            if listed & fields or (
                status and "status" in listed and _is_conversation(node.args[0])
            ):
                found.append((node.lineno, ast.unparse(node.func)))
        if name in ("save", "bulk_update") or saved:
            listed = {
                c.value
                for v in saved + node.args[1:]
                for c in ast.walk(v)
                if isinstance(c, ast.Constant)
            }
            if listed & fields or (status and "status" in listed and _is_conversation(node.func)):
                found.append((node.lineno, ast.unparse(node.func)))
        if isinstance(node.func, ast.Name) and node.func.id == "setattr" and node.args[1:]:
            field = node.args[1]
            if isinstance(field, ast.Constant) and field.value in fields | (
                {"status"} if status else set()
            ):
                found.append((node.lineno, "setattr"))
    return found


def _sql_writers(source: str) -> bool:
    """SQL updating the conversation table itself (not another table named after it, such
    as the tag links inbox/tag_links.py keeps)."""
    return re.search(r'update\s+"?inbox_conversation"?(?![\w])', source.lower()) is not None


def test_the_queue_rows_write_nothing():
    """The queue's read-only rows call no write of any kind and no SQL."""
    tree = ast.parse((ROOT / READ_ONLY_ROWS).read_text())
    calls = {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    assert not calls & (WRITES | {"save", "delete", "execute", "raw"}), calls
    assert "cursor" not in (ROOT / READ_ONLY_ROWS).read_text()


def test_nothing_but_the_state_service_writes_a_conversations_state():
    offenders = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if "migrations" in relative.parts or relative == OWNER:
                continue
            source = path.read_text()
            if relative == READ_ONLY_ROWS:
                continue  # test_the_queue_rows_write_nothing
            offenders += [f"{relative}:{line} {what}" for line, what in _writers(ast.parse(source))]
            if _sql_writers(source):
                offenders.append(f"{relative}: SQL UPDATE of inbox_conversation")
    assert offenders == [], "route these through conversation_state.conversation_transition"


def test_the_scan_finds_the_writers_it_is_meant_to_find():
    # The scan itself, on the forms a second writer would take
    samples = {
        "conversation.status = 'open'": 1,
        "conversation.waiting_since = None": 1,
        "c.queue_key = t": 1,
        "Conversation.objects.filter(id=1).update(status='resolved')": 1,
        "qs.update(waiting_since=None)": 1,
        "conversation.save(update_fields=['status', 'updated_at'])": 1,
        "Conversation.objects.bulk_update(rows, ['queue_key'])": 1,
        "setattr(conversation, 'snoozed_until', None)": 1,
        "row_update(conversation, ['status', 'updated_at'])": 1,
        "db.row_update(c, ('queue_key',))": 1,
        "row_update(webhook_event, ['status'])": 0,
        "conversation.status, conversation.snoozed_until = 'open', None": 2,
        "event.status = 'failed'": 0,
        "WebhookEvent.objects.filter(id=1).update(status='done')": 0,
        "Conversation.objects.filter(status='open')": 0,
        "Response(body, status=201)": 0,
        "models.Index(fields=['shop_account', 'status', 'queue_key'])": 0,
    }
    for code, count in samples.items():
        assert len(_writers(ast.parse(code))) == count, code
    assert _sql_writers('cursor.execute("UPDATE inbox_conversation SET status = %s")')
    assert _sql_writers('UPDATE "inbox_conversation" SET queue_key = now()')
    assert not _sql_writers("UPDATE inbox_conversation_tags SET queue_key = NULL")


def test_the_state_service_is_the_writer_the_scan_excludes():
    source = (ROOT / OWNER).read_text()
    assert _writers(ast.parse(source)), "the scan no longer sees the real writer"


def test_a_new_conversation_with_a_buyer_message_is_open_and_waiting_since_it(world):
    # Creation takes the model's defaults (open); storing its first message sets the wait
    at = datetime(2026, 11, 26, 23, 50, 2, tzinfo=UTC)
    conversation = conversation_with_messages(world.shop_a1, at=at)
    assert (conversation.status, conversation.waiting_since, conversation.queue_key) == (
        "open",
        at,
        at,
    )
    assert Message.objects.filter(conversation=conversation).count() == 1


# --- the queue's due key has one writer too -------------------------------------------------
SLA_KEY = {"sla_due_at"}
SLA_KEY_OWNER = Path("inbox/services/sla_keys.py")


def test_nothing_but_sla_keys_writes_the_queues_due_key():
    # Conversation.sla_due_at / AfterSalesCase.sla_due_at follow the open deadlines: one writer
    offenders = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if "migrations" in relative.parts or relative in (SLA_KEY_OWNER, READ_ONLY_ROWS):
                continue  # the read-only rows: test_the_queue_rows_write_nothing
            tree = ast.parse(path.read_text())
            found = _writers(tree, SLA_KEY, status=False)
            if relative == OWNER:  # the store's one UPDATE carries sla_keys' value, once
                assert [w for _, w in found] == ["conversation.sla_due_at"], found
                continue
            offenders += [f"{relative}:{n} {w}" for n, w in found]
    assert offenders == [], "route these through inbox.services.sla_keys.sla_due_set"
    # and the scan sees the real writer and the forms a second one would take
    assert _writers(ast.parse((ROOT / SLA_KEY_OWNER).read_text()), SLA_KEY, status=False)
    for code in (
        "c.sla_due_at = t",
        "qs.update(sla_due_at=t)",
        "c.save(update_fields=['sla_due_at'])",
    ):
        assert _writers(ast.parse(code), SLA_KEY, status=False), code
    assert not _writers(ast.parse("qs.filter(sla_due_at__lt=t).order_by('sla_due_at')"), SLA_KEY)


# --- one UPDATE a store ------------------------------------------------------------------------
def test_a_store_writes_its_conversation_once_with_the_queues_due_key(world):
    from django.test.utils import CaptureQueriesContext

    from monitoring.models.sla import Deadline

    # Given a conversation the seller answered (nothing due)
    asked = timezone.now().replace(microsecond=0) - timedelta(hours=2)
    conversation = conversation_with_messages(world.shop_a1, at=asked)
    _seller_answers(conversation, "Shipped today.", asked + timedelta(minutes=5))
    conversation.refresh_from_db()
    assert conversation.sla_due_at == ANSWERED_SENTINEL
    # When the buyer writes again (a new wait: deadlines open, the due key moves)
    again = asked + timedelta(hours=1)
    with CaptureQueriesContext(connection) as queries:
        _buyer_writes(conversation, "Still not here.", again)
    # Then the conversation's row was written once, with its state and its due key
    updates = [s for s in statements_of(queries.captured_queries) if s.startswith("UPDATE")]
    assert len([u for u in updates if '"inbox_conversation"' in u]) == 1, updates
    conversation.refresh_from_db()
    due = min(
        Deadline.objects.filter(conversation_id=conversation.id, state="open").values_list(
            "due_at", flat=True
        )
    )
    assert (conversation.waiting_since, conversation.sla_due_at) == (again, due)
    assert conversation.last_message_preview == "Still not here."


def test_a_gathered_write_waits_for_the_block_and_other_ways_in_are_refused(world):
    from inbox.services.conversation_state import conversation_writes_gathered
    from inbox.services.sla_keys import sla_due_set

    conversation = conversation_with_messages(world.shop_a1)
    first = timezone.now().replace(microsecond=0) + timedelta(hours=3)

    def stored_due():
        return Conversation.objects.filter(pk=conversation.pk).values_list("sla_due_at", flat=True)[
            0
        ]

    before = stored_due()
    with transaction.atomic():
        locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
        # A due key set inside the block waits for it; the instance keeps the value read
        with conversation_writes_gathered(locked):
            sla_due_set(conversations={conversation.pk: first})
            assert stored_due() == before and locked.sla_due_at == before
        assert stored_due() == first == locked.sla_due_at
        # A block without a savepoint of its own is part of the gathering
        with conversation_writes_gathered(locked), transaction.atomic(savepoint=False):
            sla_due_set(conversations={conversation.pk: None})
        assert stored_due() == ANSWERED_SENTINEL
        # Inside a savepoint, or through another copy of the row, a write is refused: no
        # order of it and the waiting ones would be right whatever the savepoint's end
        with (
            pytest.raises(RuntimeError, match="savepoint"),
            conversation_writes_gathered(locked),
            transaction.atomic(),
        ):
            sla_due_set(conversations={conversation.pk: first})
        copy = Conversation.objects.get(pk=conversation.pk)
        with pytest.raises(RuntimeError, match="copy"), conversation_writes_gathered(locked):
            conversation_transition(conversation=copy, trigger=Trigger.MESSAGES_CHANGED)
        assert stored_due() == ANSWERED_SENTINEL
    # And another conversation's key is written at once, as outside a block
    other = conversation_with_messages(world.shop_a1)
    with transaction.atomic():
        locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
        with conversation_writes_gathered(locked):
            sla_due_set(conversations={other.pk: first})
            assert Conversation.objects.get(pk=other.pk).sla_due_at == first
