"""Real-time events reach the members of a shop, and nobody else (through the real ASGI app,
the configured channel layer: in-memory embedded, Redis in CI)."""

from __future__ import annotations

import asyncio
import time

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from inbox.services import conversations as work
from scrm.asgi import application
from tests.inbox.builders import conversation_with_messages

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def connect(user=None, origin=b"http://localhost"):
    headers = [(b"origin", origin), (b"host", b"localhost")]
    if user is not None:
        client = Client()
        await sync_to_async(client.force_login)(user)
        cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
        headers.append((b"cookie", cookie))
    communicator = WebsocketCommunicator(application, "/ws/inbox/", headers=headers)
    connected, _ = await communicator.connect()
    return communicator, connected


async def nothing_arrives(communicator, timeout=0.3) -> bool:
    return await communicator.receive_nothing(timeout=timeout, interval=0.02)


async def test_members_get_events_and_others_do_not(world):
    conv = await sync_to_async(conversation_with_messages)(world.shop_a1)
    member, ok1 = await connect(world.agent_a1)
    supervisor, ok2 = await connect(world.supervisor_a)
    outsider, ok3 = await connect(world.agent_a2)
    other_org, ok4 = await connect(world.agent_b)
    assert ok1 and ok2 and ok3 and ok4
    hello = await member.receive_json_from()
    assert hello["type"] == "hello"
    for c in (supervisor, outsider, other_org):
        await c.receive_json_from()  # hello

    await sync_to_async(work.conversation_set_priority)(
        actor=world.supervisor_a, conversation_id=conv.id, priority=3
    )

    got = await member.receive_json_from(timeout=2)
    assert got["type"] == "conversation.updated"
    assert got["data"]["id"] == conv.id and got["data"]["priority"] == 3
    assert got["id"] > hello["data"]["last_event_id"]
    assert (await supervisor.receive_json_from(timeout=2))["data"]["id"] == conv.id
    assert await nothing_arrives(outsider)
    assert await nothing_arrives(other_org)
    for c in (member, supervisor, outsider, other_org):
        await c.disconnect()


PING = {"id": 1, "type": "test.ping", "data": {"n": 1}}
PONG = {"id": 2, "type": "test.ping", "data": {"n": 2}}


@pytest.mark.parametrize(
    "message",
    [
        {"type": "inbox.event", "event": PING},
        {"type": "inbox.events", "events": [PING, PONG]},  # events carried together
    ],
    ids=["one event", "events together"],
)
async def test_an_event_reaches_the_socket_while_a_slow_request_holds_djangos_thread(
    world, message
):
    from channels.layers import get_channel_layer

    from scrm.events import shop_group

    member, ok = await connect(world.agent_a1)
    assert ok
    await member.receive_json_from()  # hello
    # Given a slow request holding the one thread Django's views run in for 2 s
    blocker = asyncio.ensure_future(sync_to_async(time.sleep)(2.0))
    await asyncio.sleep(0.1)
    # When an event is published to the member's shop
    try:
        started = time.monotonic()
        await get_channel_layer().group_send(shop_group(world.shop_a1.id), message)
        # Then it reaches the socket at once, not after the request
        got = await member.receive_json_from(timeout=1)
        assert got == PING
        assert time.monotonic() - started < 1.0
        if message["type"] == "inbox.events":
            assert await member.receive_json_from(timeout=1) == PONG
    finally:
        await blocker
        await member.disconnect()


async def test_unauthenticated_and_foreign_origin_are_refused(world):
    # Not signed in: accepted only to be closed with 4401, so the page can tell it apart
    anonymous, ok = await connect(None)
    assert ok
    assert (await anonymous.receive_output(timeout=2)) == {"type": "websocket.close", "code": 4401}
    # A foreign page: refused at the handshake
    _, ok = await connect(world.agent_a1, origin=b"http://evil.example")
    assert not ok


async def test_revoked_membership_stops_events_at_once(world, api):
    from inbox.models import ShopMembership
    from inbox.services.accounts import membership_delete

    conv = await sync_to_async(conversation_with_messages)(world.shop_a1)
    member, ok = await connect(world.agent_a1)
    assert ok
    await member.receive_json_from()
    membership = await sync_to_async(ShopMembership.objects.get)(
        user=world.agent_a1, shop_account=world.shop_a1
    )
    await sync_to_async(membership_delete)(actor=world.supervisor_a, membership_id=membership.id)
    await asyncio.sleep(0.2)
    await sync_to_async(work.conversation_set_priority)(
        actor=world.supervisor_a, conversation_id=conv.id, priority=0
    )
    assert await nothing_arrives(member, timeout=0.5)
    await member.disconnect()


async def test_presence_counts_open_sockets(world):
    from inbox.models import AgentPresence

    a, _ = await connect(world.agent_a1)
    b, _ = await connect(world.agent_a1)
    presence = await sync_to_async(AgentPresence.objects.get)(user=world.agent_a1)
    assert presence.connections == 2
    await a.disconnect()
    await b.disconnect()
    await sync_to_async(presence.refresh_from_db)()
    assert presence.connections == 0


@pytest.mark.skipif(
    "postgresql" not in __import__("django.conf").conf.settings.DATABASES["default"]["ENGINE"],
    reason="commit order differs from id order only on PostgreSQL (SQLite serialises writers)",
)
async def test_feed_never_skips_an_event_committed_after_a_later_one(world, api):
    """Event ids are taken at insert time: the feed must not show event N+1 while N is still
    in flight, or a client moving its last id past N+1 loses N for good."""
    import threading

    from django.db import connection, transaction

    from scrm.events import event_publish
    from tests.inbox.event_payloads import marked, marker_of

    started, release = threading.Event(), threading.Event()

    def slow_writer():
        with transaction.atomic():
            event_publish(
                organisation_id=world.org_a.id,
                shop_account_id=world.shop_a1.id,
                type="conversation.updated",
                data=marked("conversation.updated", "slow"),
            )
            started.set()
            release.wait(10)
        connection.close()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    await sync_to_async(started.wait)(10)

    def fast_writer_then_read():
        with transaction.atomic():
            event_publish(
                organisation_id=world.org_a.id,
                shop_account_id=world.shop_a1.id,
                type="conversation.updated",
                data=marked("conversation.updated", "fast"),
            )
        from inbox.selectors import event_list_after

        return [marker_of(e.type, e.data) for e in event_list_after(world.supervisor_a, 0)]

    assert "fast" not in await sync_to_async(fast_writer_then_read, thread_sensitive=False)()
    release.set()
    await sync_to_async(thread.join)()

    def read():
        from inbox.selectors import event_list_after

        return [marker_of(e.type, e.data) for e in event_list_after(world.supervisor_a, 0)]

    assert (await sync_to_async(read, thread_sensitive=False)())[-2:] == ["slow", "fast"]


@pytest.mark.skipif(
    "postgresql" not in __import__("django.conf").conf.settings.DATABASES["default"]["ENGINE"],
    reason="transaction ids are shared by the databases of one PostgreSQL server only",
)
async def test_a_transaction_left_open_in_another_database_does_not_hold_the_feed_back(world):
    """Transaction ids are the server's, not the database's: the feed's horizon must not wait
    for a report (or another test run) left open in another database of the same server."""

    def with_another_database_open() -> list[str]:
        import psycopg
        from django.db import connection

        from inbox.selectors import event_list_after
        from scrm.events import event_publish
        from tests.inbox.event_payloads import marked, marker_of

        params = dict(connection.get_connection_params())
        params["dbname"] = "postgres"
        params.pop("cursor_factory", None)
        params.pop("context", None)
        params.pop("prepare_threshold", None)
        with psycopg.connect(**params, autocommit=True) as other:
            # Given a transaction in another database that holds a transaction id, left open
            other.execute("BEGIN")
            other.execute("SELECT pg_current_xact_id()")
            # When an event of ours commits after it began
            event_publish(
                organisation_id=world.org_a.id,
                shop_account_id=world.shop_a1.id,
                type="conversation.updated",
                data=marked("conversation.updated", "after"),
            )
            # Then the feed shows it at once
            seen = [marker_of(e.type, e.data) for e in event_list_after(world.supervisor_a, 0)]
            other.execute("ROLLBACK")
        connection.close()
        return seen

    seen = await sync_to_async(with_another_database_open, thread_sensitive=False)()
    assert seen[-1:] == ["after"]


async def test_events_published_together_arrive_each_in_order(world, monkeypatch):
    """A transaction's events in a row for one group travel as one channel-layer message per 50
    (``scrm.events.bundled``); the socket still shows each as its own frame, in order."""
    from channels.layers import get_channel_layer
    from django.db import transaction

    from inbox.events import CONVERSATION_UPDATED
    from inbox.payloads import conversation_payload
    from scrm.events import EventSpec, events_publish, shop_group

    conv = await sync_to_async(conversation_with_messages)(world.shop_a1)
    member, ok = await connect(world.agent_a1)
    outsider, ok2 = await connect(world.agent_a2)
    assert ok and ok2
    await member.receive_json_from()  # hello
    await outsider.receive_json_from()

    # (the group sends to the shop counted, each passed on as it was)
    layer = get_channel_layer()
    group_send = layer.group_send
    sends: list[str] = []

    async def counted(group, message):
        if group == shop_group(world.shop_a1.id):
            sends.append(message["type"])
        return await group_send(group, message)

    monkeypatch.setattr(layer, "group_send", counted)

    # Given 120 changes of a conversation published in one transaction
    def publish() -> list[int]:
        payloads = []
        for priority in range(120):
            conv.priority = priority % 4
            payloads.append(conversation_payload(conv))
        with transaction.atomic():
            rows = events_publish(
                [
                    EventSpec(
                        world.org_a.id, CONVERSATION_UPDATED, p, shop_account_id=world.shop_a1.id
                    )
                    for p in payloads
                ]
            )
        return [row.id for row in rows]

    ids = await sync_to_async(publish)()
    # Then the member's socket shows all 120, one frame each, in the order published
    got = [await member.receive_json_from(timeout=5) for _ in ids]
    assert [g["id"] for g in got] == ids
    assert [g["data"]["priority"] for g in got] == [p % 4 for p in range(120)]
    assert all(g["type"] == "conversation.updated" for g in got)
    # And they went to the shop's group as three messages (50, 50, 20), not 120
    assert sends == ["inbox.events"] * 3
    # And nobody outside the shop gets any
    assert await nothing_arrives(outsider)
    await member.disconnect()
    await outsider.disconnect()
