"""Assign on reply (issue 11): with the organisation's ``assign_on_reply`` on, an unassigned
conversation goes to the person who replies in it, in the reply's transaction, audited and
published; a conversation someone holds stays theirs."""

from __future__ import annotations

import pytest

from inbox.models import Conversation, InboxEvent, Message
from inbox.services.conversations import conversation_assign
from monitoring.models import AuditEvent
from tests.inbox.builders import conversation_with_messages

pytestmark = pytest.mark.django_db


@pytest.fixture
def assign_on_reply(world):
    world.org_a.assign_on_reply = True
    world.org_a.save(update_fields=["assign_on_reply"])
    return world.org_a


def _reply(api, user, conversation, text="It ships today.", key="k-1"):
    return api.as_user(user).post(
        f"/api/v1/conversations/{conversation.id}/messages/",
        {"text": text, "idempotency_key": key},
        format="json",
    )


def test_replying_to_an_unassigned_conversation_takes_it(api, world, assign_on_reply):
    # Given an unassigned conversation in an organisation that assigns on reply
    conversation = conversation_with_messages(world.shop_a1)
    # When agent_a1 replies
    response = _reply(api, world.agent_a1, conversation)
    # Then the reply is stored and the conversation is agent_a1's
    assert response.status_code == 201
    conversation.refresh_from_db()
    assert conversation.assignee_id == world.agent_a1.pk
    # And the assignment is audited as agent_a1's own, and the queue heard of it
    audit = AuditEvent.objects.get(action="conversation.assigned", target_id=str(conversation.pk))
    assert audit.actor_id == world.agent_a1.pk
    assert audit.data == {"from": None, "to": world.agent_a1.pk}
    row = InboxEvent.objects.filter(type="conversation.updated").order_by("id").last()
    assert row.data["id"] == conversation.id
    assert row.data["assignee"]["id"] == world.agent_a1.pk


def test_with_the_option_off_a_reply_leaves_it_unassigned(api, world):
    conversation = conversation_with_messages(world.shop_a1)
    assert _reply(api, world.agent_a1, conversation).status_code == 201
    conversation.refresh_from_db()
    assert conversation.assignee_id is None
    assert not AuditEvent.objects.filter(action="conversation.assigned").exists()


def test_a_conversation_someone_holds_stays_theirs(api, world, assign_on_reply):
    # Given a conversation the supervisor holds
    conversation = conversation_with_messages(world.shop_a1)
    conversation_assign(
        actor=world.supervisor_a,
        conversation_id=conversation.id,
        assignee_id=world.supervisor_a.pk,
    )
    # When agent_a1 replies in it
    assert _reply(api, world.agent_a1, conversation).status_code == 201
    # Then it is still the supervisor's
    conversation.refresh_from_db()
    assert conversation.assignee_id == world.supervisor_a.pk
    assert AuditEvent.objects.filter(action="conversation.assigned").count() == 1


def test_a_refused_reply_assigns_nothing(api, world, assign_on_reply):
    conversation = conversation_with_messages(world.shop_a1)
    response = _reply(api, world.agent_a1, conversation, text="   ")
    assert response.status_code == 400
    conversation.refresh_from_db()
    assert conversation.assignee_id is None
    assert not Message.objects.filter(conversation=conversation, direction="out").exists()


def test_a_repeated_reply_does_not_take_it_back(api, world, assign_on_reply):
    # Given agent_a1 replied (and so took the conversation), then the supervisor unassigned it
    conversation = conversation_with_messages(world.shop_a1)
    assert _reply(api, world.agent_a1, conversation).status_code == 201
    conversation_assign(actor=world.supervisor_a, conversation_id=conversation.id, assignee_id=None)
    # When the same reply arrives again (a client retry with the same key)
    assert _reply(api, world.agent_a1, conversation).status_code == 200
    # Then nothing was sent or assigned again
    assert Conversation.objects.get(id=conversation.id).assignee_id is None
    assert Message.objects.filter(conversation=conversation, direction="out").count() == 1
