"""Every event kind the inbox publishes, triggered by the real action through its service, and
its payload checked against the kind's schema (Zulip's ``verify_action``); the documented
example of each kind is the registered one."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from inbox.events import (
    CASE_UPDATED,
    CONVERSATION_UPDATED,
    MESSAGE_CREATED,
    MESSAGE_UPDATED,
    NOTE_CREATED,
)
from inbox.models import Conversation, InboxEvent
from inbox.platforms.base import Participant, PlatformAfterSales, PlatformMessage
from inbox.services import conversations as work
from inbox.services import replies
from inbox.services.aftersales import after_sales_case_upsert
from inbox.services.ingestion import messages_store
from monitoring.events import SLA_DEADLINE
from scrm.events import EVENT_KINDS, payload_check
from tests.inbox.builders import conversation_with_messages

pytestmark = pytest.mark.django_db

DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def published(kind, since: int) -> list[dict]:
    """The payloads of ``kind`` published after event id ``since``, each checked against the
    kind's schema (whatever SCRM_EVENTS_CHECK_SCHEMA says)."""
    rows = InboxEvent.objects.filter(id__gt=since, type=kind.name).order_by("id")
    for row in rows:
        payload_check(kind, row.data)
    return [row.data for row in rows]


def last_id() -> int:
    return InboxEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def test_message_created_when_a_buyer_writes_and_a_reply_is_stored(world):
    # Given shop a1 with no conversation yet
    start = last_id()
    buyer = Participant(role="BUYER", im_user_id="im-ev-1", user_id="u-ev-1", nickname="Emily R.")
    message = PlatformMessage(
        message_id="pm-ev-1",
        conversation_id="pc-ev-1",
        type="TEXT",
        content={"content": "Is size M true to size?"},
        create_time=datetime(2026, 11, 26, 23, 53, 48, tzinfo=UTC),
        sender=buyer,
    )
    # When the buyer's message is stored, and an agent replies
    messages_store(shop=world.shop_a1, conversation_id="pc-ev-1", messages=[message])
    [arrived] = published(MESSAGE_CREATED, start)
    replies.message_send(
        actor=world.agent_a1, conversation_id=arrived["conversation_id"], text="Yes, it does."
    )
    # Then both were published as message.created, each matching the schema
    arrived, reply = published(MESSAGE_CREATED, start)
    assert (arrived["direction"], arrived["text"]) == ("in", "Is size M true to size?")
    assert (reply["direction"], reply["delivery_state"]) == ("out", "pending")
    assert reply["author"]["id"] == world.agent_a1.pk


def test_message_updated_when_a_reply_fails(world):
    # Given a reply stored as pending
    conversation = conversation_with_messages(world.shop_a1)
    reply, _ = replies.message_send(
        actor=world.agent_a1, conversation_id=conversation.id, text="On its way."
    )
    start = last_id()
    # When its delivery is given up
    replies.message_mark_failed(message_id=reply.id, reason="The platform refused it.")
    # Then message.updated carries the failed reply, matching the schema
    [updated] = published(MESSAGE_UPDATED, start)
    assert (updated["id"], updated["delivery_state"]) == (reply.id, "failed")
    assert updated["failure_reason"] == "The platform refused it."


def test_conversation_updated_when_a_person_changes_a_conversation(world):
    # Given a waiting conversation
    conversation = conversation_with_messages(world.shop_a1, buyer="Emily R.")
    start = last_id()
    # When a supervisor raises its priority and snoozes it
    work.conversation_set_priority(
        actor=world.supervisor_a, conversation_id=conversation.id, priority=3
    )
    until = datetime.now(UTC) + timedelta(hours=2)
    work.conversation_set_status(
        actor=world.supervisor_a,
        conversation_id=conversation.id,
        status="snoozed",
        snoozed_until=until,
    )
    # Then each change published the queue row, matching the schema
    raised, snoozed = published(CONVERSATION_UPDATED, start)
    assert (raised["id"], raised["priority"]) == (conversation.id, 3)
    assert raised["customer"]["name"] == "Emily R."
    assert snoozed["status"] == "snoozed"
    assert snoozed["snoozed_until"] == until.isoformat()


def test_note_created_when_a_note_is_added(world):
    conversation = conversation_with_messages(world.shop_a1)
    start = last_id()
    work.note_add(actor=world.agent_a1, conversation_id=conversation.id, text="VIP buyer")
    [note] = published(NOTE_CREATED, start)
    assert (note["conversation_id"], note["text"]) == (conversation.id, "VIP buyer")
    assert note["author"]["id"] == world.agent_a1.pk


def test_case_updated_when_a_case_is_stored_and_when_it_changes(world):
    # Given a return the platform shows pending
    start = last_id()
    at = datetime(2026, 11, 26, 23, 53, 48, tzinfo=UTC)
    pending = PlatformAfterSales(
        family="return",
        case_id="4035000000000001",
        order_id="576000000000009001",
        type="REFUND",
        status="RETURN_OR_REFUND_REQUEST_PENDING",
        role="BUYER",
        reason="ecom_order_delivered_refund_and_return_reason_damaged",
        reason_text="Arrived broken",
        refund_total="19.99",
        currency="USD",
        lines=(),
        seller_deadline=at + timedelta(days=2),
        seller_action="SELLER_RESPOND_REFUND",
        arbitration_status="",
        create_time=at,
        update_time=at,
    )
    # When it is stored, then read again once the platform moved it on
    case, _ = after_sales_case_upsert(shop=world.shop_a1, case=pending)
    moved = dataclasses.replace(
        pending,
        status="RETURN_OR_REFUND_REQUEST_SUCCESS",
        seller_deadline=None,
        seller_action="",
        update_time=at + timedelta(minutes=5),
    )
    after_sales_case_upsert(shop=world.shop_a1, case=moved)
    after_sales_case_upsert(shop=world.shop_a1, case=moved)  # unchanged: no event
    # Then each change published case.updated, matching the schema, without the buyer's words
    stored, decided = published(CASE_UPDATED, start)
    assert (stored["id"], stored["stage"], stored["shop_account_id"]) == (
        case.id,
        "needs_decision",
        world.shop_a1.id,
    )
    assert stored["seller_deadline"] == (at + timedelta(days=2)).isoformat()
    assert (decided["stage"], decided["seller_deadline"], decided["decision_state"]) == (
        "decided",
        None,
        "",
    )
    assert "Arrived broken" not in json.dumps([stored, decided])


def test_sla_alert_when_a_deadline_reaches_its_warning(world):
    # Given agent_a1's conversation with a deadline due in 24 h (monitoring's sweep tells them)
    from monitoring.events import SLA_ALERT
    from monitoring.sla.sweep import sla_sweep
    from tests.monitoring.sweep_builders import T0, deadline_for

    conversation = conversation_with_messages(world.shop_a1)
    Conversation.objects.filter(id=conversation.id).update(assignee=world.agent_a1)
    deadline = deadline_for(conversation, due_at=T0 + timedelta(hours=24))
    start = last_id()
    # When the sweep runs past its 4 h warning
    sla_sweep(now=T0 + timedelta(hours=20, minutes=1))
    # Then agent_a1 got one sla.alert matching the schema: ids, kinds and times only
    [alert] = published(SLA_ALERT, start)
    assert (alert["kind"], alert["threshold_minutes"]) == ("warning", 240)
    assert (alert["subject"], alert["subject_id"]) == ("conversation", conversation.id)
    assert alert["due_at"] == deadline.due_at.isoformat()
    assert InboxEvent.objects.get(id__gt=start, type="sla.alert").user_id == world.agent_a1.pk


def test_follow_up_due_when_a_follow_up_comes_due(world):
    # Given agent_a1's follow-up with a buyer, past its time
    from inbox.events import FOLLOW_UP_DUE
    from inbox.models import FollowUp
    from inbox.services.profiles import follow_up_create
    from inbox.services.profiles.reminders import follow_ups_remind

    conversation = conversation_with_messages(world.shop_a1)
    follow_up = follow_up_create(
        actor=world.agent_a1,
        customer_id=conversation.customer_id,
        promise="Send the tracking number",
        due_at=timezone.now() + timedelta(minutes=5),
    )
    FollowUp.objects.filter(id=follow_up.id).update(due_at=timezone.now() - timedelta(minutes=1))
    start = last_id()
    # When the reminder sweep runs
    follow_ups_remind()
    # Then agent_a1 got one follow_up.due matching the schema, without what was promised
    [event] = published(FOLLOW_UP_DUE, start)
    assert (event["id"], event["customer_id"]) == (follow_up.id, conversation.customer_id)
    assert "tracking" not in json.dumps(event)
    assert InboxEvent.objects.get(id__gt=start, type="follow_up.due").user_id == world.agent_a1.pk


def test_sla_deadline_when_a_buyer_starts_waiting_and_is_answered(world):
    # Given a buyer who writes (their wait starts)
    start = last_id()
    conversation = conversation_with_messages(world.shop_a1)
    # When the seller's answer is read from the platform
    answer = PlatformMessage(
        message_id="pm-ev-sla-1",
        conversation_id=conversation.platform_conversation_id,
        type="TEXT",
        content={"content": "On its way."},
        create_time=conversation.waiting_since + timedelta(minutes=5),
        sender=Participant(role="SHOP", im_user_id="im-shop"),
    )
    messages_store(
        shop=world.shop_a1,
        conversation_id=conversation.platform_conversation_id,
        messages=[answer],
    )
    # Then sla.deadline showed the open deadline, then none, for the shop's people
    opened, closed = published(SLA_DEADLINE, start)
    assert (opened["subject"], opened["id"]) == ("conversation", conversation.id)
    assert opened["deadline"]["kind"] in ("first_reply", "same_day")
    assert (closed["id"], closed["deadline"]) == (conversation.id, None)


def test_violation_flagged_when_a_send_matches(world):
    # Given agent_a1's send that matched the sensitive-word monitor
    from monitoring.events import VIOLATION_FLAGGED
    from tests.monitoring.violation_builders import violation_of

    start = last_id()
    violation = violation_of(world.shop_a1, world.agent_a1)
    # Then the supervisors are told, ids and values only
    [event] = published(VIOLATION_FLAGGED, start)
    assert (event["id"], event["action"]) == (violation.id, "block")
    assert "WeChat" not in json.dumps(event)


KIND_TESTS = {
    "violation.flagged": test_violation_flagged_when_a_send_matches,
    "sla.alert": test_sla_alert_when_a_deadline_reaches_its_warning,
    "follow_up.due": test_follow_up_due_when_a_follow_up_comes_due,
    SLA_DEADLINE.name: test_sla_deadline_when_a_buyer_starts_waiting_and_is_answered,
    CASE_UPDATED.name: test_case_updated_when_a_case_is_stored_and_when_it_changes,
    MESSAGE_CREATED.name: test_message_created_when_a_buyer_writes_and_a_reply_is_stored,
    MESSAGE_UPDATED.name: test_message_updated_when_a_reply_fails,
    CONVERSATION_UPDATED.name: test_conversation_updated_when_a_person_changes_a_conversation,
    NOTE_CREATED.name: test_note_created_when_a_note_is_added,
}


def test_every_registered_kind_has_its_test_here():
    # A new kind comes with a test above that publishes it through its service.
    assert set(KIND_TESTS) == set(EVENT_KINDS)


def _documented_examples() -> dict[str, dict]:
    """docs/api.md: each kind's subsection ("#### `kind`") holds one JSON example."""
    section = DOCS.read_text().split("## Websocket `/ws/inbox/`", 1)[1].split("\n## ", 1)[0]
    examples = {}
    for kind, body in re.findall(r"^#### `([a-z_.]+)`\n(.*?)(?=^#### |\Z)", section, re.M | re.S):
        block = re.search(r"```json\n(.*?)```", body, re.S)
        assert block, f"docs/api.md: no JSON example under {kind}"
        examples[kind] = json.loads(block.group(1))
    return examples


def test_each_kind_is_documented_with_its_registered_example():
    documented = _documented_examples()
    assert set(documented) == set(EVENT_KINDS)
    for name, kind in EVENT_KINDS.items():
        payload_check(kind, documented[name])
        assert documented[name] == dict(kind.example), name
