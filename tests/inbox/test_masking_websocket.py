"""The websocket itself, as a browser's socket receives it: while work happens on a buyer whose
profile and orders carry known personal values, the sockets of an agent and a supervisor of
the shop without the reveal permission receive the events, and none holds a value in clear
(tests/inbox/test_masking_everywhere.py shapes every kind and every feed row; this is the same
through the consumer, end to end)."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async

from inbox.services import conversations as work
from inbox.services.conversations import note_add
from tests.inbox.test_masking_everywhere import leaks, seed
from tests.inbox.ws_client import hello_socket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def drain(communicator) -> list[dict]:
    got = []
    while not await communicator.receive_nothing(timeout=0.5, interval=0.02):
        got.append(await communicator.receive_json_from(timeout=2))
    return got


async def test_sockets_of_people_without_the_permission_receive_no_personal_value(world):
    # Given the buyer's profile and order carry personal values
    objects = await sync_to_async(seed)(world)
    agent = await hello_socket(world.agent_a1)
    supervisor = await hello_socket(world.supervisor_a)
    # When the team works on the buyer's conversation
    conversation_id = objects["conversation"]
    await sync_to_async(work.conversation_set_priority)(
        actor=world.supervisor_a, conversation_id=conversation_id, priority=3
    )
    await sync_to_async(note_add)(
        actor=world.agent_a1, conversation_id=conversation_id, text="Called about the parcel"
    )
    # Then both sockets receive the events, and no event holds a personal value
    for socket in (agent, supervisor):
        events = await drain(socket)
        kinds = {e["type"] for e in events}
        assert {"conversation.updated", "note.created"} <= kinds, kinds
        for event in events:
            assert leaks(json.dumps(event, ensure_ascii=False)) == [], event["type"]
        await socket.disconnect()
