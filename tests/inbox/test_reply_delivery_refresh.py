"""A delivered reply answers the buyer in the queue, its SLA deadline and its response figure,
whatever the buyer wrote since it was submitted (issue 18: the delivery takes the display and the
wait from the reply itself when nothing came after it, and reads the messages otherwise); and a
reply costs the round trips it is measured at (``bench.reply_profile``)."""

from __future__ import annotations

import time

import pytest
from django.db import connection

from inbox.models import Conversation, Message
from inbox.services.conversation_state import _waiting_since
from inbox.tasks import deliver_outbox_action
from monitoring.models import Deadline
from monitoring.models.metrics import ResponseFact
from tests.inbox.builders import deliver, pending_reply, reply_action, reply_attempts

pytestmark = pytest.mark.django_db(transaction=True)


def _buyer_writes(platform, world, text: str, *, at: float | None = None) -> Conversation:
    conv_id, message_id = platform.sim.buyer_message(
        world.shop_a1.platform_shop_id, buyer_user_id="b1", nickname="Mia", text=text, at=at
    )
    platform.sim.deliver_webhooks()
    conversation = world.shop_a1.conversations.get(platform_conversation_id=conv_id)
    # the webhook was processed (eager)
    stored = Message.objects.filter(conversation=conversation, platform_message_id=message_id)
    assert stored.exists()
    return conversation


def _as_read(conversation: Conversation) -> tuple:
    """The queue's fields as computed from the stored messages."""
    visible = Message.objects.filter(conversation=conversation, is_visible=True)
    last = visible.order_by("-sent_at", "-platform_index", "-id").first()
    return (last.sent_at, last.text, _waiting_since(conversation))


def _shown(conversation: Conversation) -> tuple:
    conversation.refresh_from_db()
    return (
        conversation.last_message_at,
        conversation.last_message_preview,
        conversation.waiting_since,
    )


def _open_deadlines(conversation: Conversation) -> list[str]:
    return sorted(
        Deadline.objects.filter(conversation=conversation, state="open").values_list(
            "kind", flat=True
        )
    )


def test_a_delivered_reply_answers_the_buyer_when_nothing_came_after_it(world, platform):
    # Given a buyer waiting (since a minute ago), with an open reply deadline and an open request
    conversation = _buyer_writes(platform, world, "Where is my parcel?", at=time.time() - 60)
    assert conversation.waiting_since is not None
    assert _open_deadlines(conversation)
    reply = pending_reply(conversation, "It ships today.", key="k1", author=world.agent_a1)
    # When the worker delivers the agent's reply
    assert deliver(reply) == "sent"
    # Then the queue shows the reply last and nobody waits, as the messages say
    assert _shown(conversation) == _as_read(conversation)
    assert conversation.last_message_preview == "It ships today."
    assert conversation.waiting_since is None
    # and the deadline and the buyer's request are answered, the attempt closed as sent
    assert _open_deadlines(conversation) == []
    facts = ResponseFact.objects.filter(conversation=conversation)
    assert list(facts.values_list("state", flat=True)) == ["answered"]
    attempt = reply_attempts(reply).order_by("started_at").last()
    assert (attempt.outcome, attempt.finished_at is not None) == ("sent", True)
    assert reply_action(reply).state == "sent"


@pytest.mark.parametrize("later", [60, 0], ids=["a-minute-later", "in-the-same-second"])
def test_a_buyer_who_wrote_after_the_reply_was_submitted_still_waits(world, platform, later):
    # Given a buyer waiting (since a minute ago) and the agent's reply submitted
    conversation = _buyer_writes(platform, world, "Where is my parcel?", at=time.time() - 60)
    reply = pending_reply(conversation, "It ships today.", key="k2", author=world.agent_a1)
    # and, before the worker delivers it, the buyer writes again (a minute later, or in the
    # very second the reply was submitted: platform times are whole seconds)
    _buyer_writes(platform, world, "Hello??", at=reply.sent_at.timestamp() + later)
    # When the reply is delivered
    assert deliver(reply) == "sent"
    # Then the buyer still waits, from their new message, as the messages say
    shown = _shown(conversation)
    assert shown == _as_read(conversation)
    assert conversation.waiting_since.timestamp() == reply.sent_at.timestamp() + later
    assert _open_deadlines(conversation)
    if later:
        assert conversation.last_message_preview == "Hello??"


class RoundTrips:
    """Counts the round trips run through the connection (``execute_wrapper``, as
    ``bench.reply_profile`` does): transaction control and savepoints are not among them."""

    def __init__(self) -> None:
        self.sql: list[str] = []

    def __call__(self, execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        self.sql.append(sql[:90])
        return execute(sql, params, many, context)


def test_a_reply_costs_the_round_trips_it_is_measured_at(world, platform, api):
    # Given a buyer waiting (and a first reply, so the measured one is the steady state)
    conversation = _buyer_writes(platform, world, "Where is my parcel?")
    client = api.as_user(world.agent_a1)
    url = f"/api/v1/conversations/{conversation.id}/messages/"
    first = client.post(url, {"text": "One moment.", "idempotency_key": "w"}, format="json")
    assert first.status_code == 201
    _buyer_writes(platform, world, "Thanks, and?", at=time.time() + 1)
    time.sleep(2.1)  # the next reply in a second of its own, after the buyer's
    from celery import current_app

    # The request and the delivery measured apart (queued tasks stay in the broker)
    current_app.conf.task_always_eager = False
    try:
        sent, delivered = RoundTrips(), RoundTrips()
        with connection.execute_wrapper(sent):
            response = client.post(
                url, {"text": "It ships today.", "idempotency_key": "m"}, format="json"
            )
        assert response.status_code == 201
        action_id = reply_action(Message.objects.get(idempotency_key="m")).id
        with connection.execute_wrapper(delivered):
            assert deliver_outbox_action(action_id) == "sent"
    finally:
        current_app.conf.task_always_eager = True
        current_app.control.purge()
    # Then each is within the round trips bench.reply_profile measured (PostgreSQL sends the
    # deferred writes with the next statement; SQLite each alone, and its BEGIN IMMEDIATE
    # counts). The request here is authenticated without a token (one read fewer than the
    # bench's).
    postgres = connection.vendor == "postgresql"
    assert len(sent.sql) <= (11 if postgres else 13), sent.sql
    assert len(delivered.sql) <= (19 if postgres else 27), "\n".join(delivered.sql)
    # and the buyer's question is answered
    assert _shown(conversation)[1:] == ("It ships today.", None)


def test_the_agents_socket_hears_of_a_reply_before_its_delivery(world, platform, api):
    from asgiref.sync import async_to_sync, sync_to_async

    from tests.inbox.ws_client import hello_socket

    # Given a buyer waiting and the agent's socket open
    conversation = _buyer_writes(platform, world, "Where is my parcel?")
    client = api.as_user(world.agent_a1)

    async def reply_and_listen() -> tuple[int, list[str]]:
        socket = await hello_socket(world.agent_a1)
        # When the agent replies and a worker delivers it at once (eager: at the commit)
        response = await sync_to_async(client.post)(
            f"/api/v1/conversations/{conversation.id}/messages/",
            {"text": "It ships today.", "idempotency_key": "ws"},
            format="json",
        )
        states: list[str] = []
        while "sent" not in states:
            event = await socket.receive_json_from(timeout=5)
            if event["type"] in ("message.created", "message.updated"):
                states.append(event["data"]["delivery_state"])
        await socket.disconnect()
        return response.status_code, states

    status, states = async_to_sync(reply_and_listen)()
    assert status == 201
    # Then the socket shows the reply pending first, then sent: never sent, then pending again
    assert states[0] == "pending" and states[-1] == "sent", states
