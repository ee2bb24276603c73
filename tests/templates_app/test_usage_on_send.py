"""A quick reply counts as used when the reply made with it is sent, not when it is inserted:
the composer passes the quick reply's id with the reply, the inbox announces the stored reply
(``inbox.hooks.reply_submitted``) and templates_app counts the use in the same transaction."""

from __future__ import annotations

from monitoring.models import AuditEvent
from templates_app.models import QuickReply, QuickReplyUsage
from tests.templates_app.conftest import add_message, create_reply, make_conversation

BASE = "/api/v1/templates/"


def _send(client, conversation, text, key, **extra):
    return client.post(
        f"/api/v1/conversations/{conversation.id}/messages/",
        {"text": text, "idempotency_key": key, **extra},
        format="json",
    )


def _uses(reply) -> int:
    return QuickReply.objects.get(pk=reply.pk).usage_count


def test_inserting_does_not_count_sending_does_once(api, world):
    # given a quick reply and a conversation of agent_a1's shop
    reply = create_reply(world.supervisor_a, body="Hi {{ buyer_name }}, thanks!")
    conversation = make_conversation(world.shop_a1, buyer_name="Ana")
    add_message(conversation, text="hello")
    client = api.as_user(world.agent_a1)

    # when the agent inserts it into the composer (the render the picker makes)
    inserted = client.post(
        f"{BASE}{reply.id}/render/", {"conversation_id": conversation.id}, format="json"
    )
    # then nothing is counted yet
    assert inserted.status_code == 200
    assert _uses(reply) == 0 and QuickReplyUsage.objects.count() == 0

    # when the reply is sent with the quick reply's id (and sent again: a double click)
    for _ in range(2):
        sent = _send(
            client,
            conversation,
            inserted.json()["text"],
            "k-1",
            quick_reply_id=reply.id,
            quick_reply_language=inserted.json()["language"],
        )
        assert sent.status_code in (200, 201)

    # then it counts once, for this agent, conversation and language, audited with the reply
    assert _uses(reply) == 1
    usage = QuickReplyUsage.objects.get()
    assert (usage.user_id, usage.conversation_id, usage.language) == (
        world.agent_a1.id,
        conversation.id,
        "en",
    )
    event = AuditEvent.objects.get(action="quick_reply.used")
    assert event.data["message_id"] == sent.json()["id"]


def test_a_reply_without_a_quick_reply_counts_nothing(api, world):
    reply = create_reply(world.supervisor_a)
    conversation = make_conversation(world.shop_a1)
    assert _send(api.as_user(world.agent_a1), conversation, "typed", "k-2").status_code == 201
    assert _uses(reply) == 0 and not QuickReplyUsage.objects.exists()


def test_a_quick_reply_the_sender_may_not_see_is_not_counted_and_the_reply_still_goes(api, world):
    # given quick replies agent_a1 may not use: another organisation's, another shop's team
    # reply, a colleague's personal one, and an id that exists nowhere
    others = [
        create_reply(world.supervisor_b),
        create_reply(world.supervisor_a, scope="team", shop_account_ids=[world.shop_a2.id]),
        create_reply(world.agent_a2, scope="personal"),
    ]
    conversation = make_conversation(world.shop_a1)
    client = api.as_user(world.agent_a1)
    for n, quick_reply_id in enumerate([*(r.id for r in others), 999_999]):
        # when a reply names one of them
        sent = _send(client, conversation, "hello", f"k-{n}", quick_reply_id=quick_reply_id)
        # then the reply is stored, and nothing is counted
        assert sent.status_code == 201
    assert not QuickReplyUsage.objects.exists()
    assert all(_uses(r) == 0 for r in others)


def test_an_archived_quick_reply_still_counts_when_its_reply_is_sent(api, world):
    # given a quick reply archived while the agent was typing
    from templates_app import services

    reply = create_reply(world.supervisor_a)
    conversation = make_conversation(world.shop_a1)
    services.quick_reply_archive(actor=world.supervisor_a, quick_reply_id=reply.id)
    sent = _send(api.as_user(world.agent_a1), conversation, "hi", "k-a", quick_reply_id=reply.id)
    assert sent.status_code == 201
    assert _uses(reply) == 1


def test_a_malformed_quick_reply_id_is_a_clear_400(api, world):
    conversation = make_conversation(world.shop_a1)
    sent = _send(api.as_user(world.agent_a1), conversation, "hi", "k-b", quick_reply_id="abc")
    assert sent.status_code == 400
    assert "quick_reply_id" in sent.json()["error"]["details"]
