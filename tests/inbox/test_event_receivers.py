"""Who receives an event, and in what shape: an organisation's supervisors' group (joined and
left on open sockets as roles change), and payloads shaped per receiver — the same on the socket
and in the change feed."""

from __future__ import annotations

import asyncio
import json
from typing import TypedDict

import pytest
from asgiref.sync import sync_to_async
from django.db import transaction

from inbox.models import Role
from inbox.selectors import event_list_after
from inbox.services.access import member_role_change
from scrm.events import Audience, event_kind_register, event_kind_unregister, event_publish
from tests.factories import make_person
from tests.inbox.ws_client import connect, first_output, hello, nothing_arrives

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


class Notice(TypedDict):
    marker: str
    seen_by: str


@pytest.fixture(autouse=True)
def _no_timer_rescue(settings):
    settings.SCRM_WS_RECHECK_SECONDS = 3600  # role changes act at once, not on the timer


@pytest.fixture
def supervisors_notice():
    kind = event_kind_register(
        name="test.supervisors_notice",
        description="a notice for an organisation's supervisors",
        schema=Notice,
        example={"marker": "example", "seen_by": ""},
        audience=Audience.SUPERVISORS,
    )
    yield kind
    event_kind_unregister(kind.name)


@pytest.fixture
def shaped_notice():
    """A shop kind whose shaper writes, for each receiver, who it was shaped for."""

    def shaper(data, viewer):
        return {**data, "seen_by": f"{viewer.role}:{viewer.user_id}"}

    kind = event_kind_register(
        name="test.shaped_notice",
        description="a shop notice shaped per receiver",
        schema=Notice,
        example={"marker": "example", "seen_by": ""},
        shaper=shaper,
    )
    yield kind
    event_kind_unregister(kind.name)


def _publish(kind, organisation_id: int, marker: str, shop_account_id: int | None = None):
    with transaction.atomic():
        return event_publish(
            organisation_id=organisation_id,
            shop_account_id=shop_account_id,
            type=kind,
            data={"marker": marker, "seen_by": ""},
        )


async def _next_event(communicator, marker: str) -> dict | None:
    """The event carrying ``marker`` if it arrives within a second (others skipped)."""
    output = await first_output(
        communicator, lambda o: json.loads(o["text"]).get("data", {}).get("marker") == marker
    )
    return json.loads(output["text"]) if output else None


async def _connected(*people) -> list:
    """A socket for each person, past its hello."""
    sockets = []
    for person in people:
        communicator, ok = await connect(person)
        assert ok
        await hello(communicator)
        sockets.append(communicator)
    return sockets


def _feed(user, kind_name: str) -> dict[str, dict]:
    return {e.data["marker"]: e.data for e in event_list_after(user, 0) if e.type == kind_name}


async def test_supervisors_events_reach_the_organisations_supervisors_and_admins_only(
    world, supervisors_notice
):
    # Given a supervisor and an admin of organisation A, an agent of A, and B's supervisor
    admin = await sync_to_async(make_person)(world.org_a, Role.ADMIN)
    people = {
        "supervisor": world.supervisor_a,
        "admin": admin,
        "agent": world.agent_a1,
        "other org": world.supervisor_b,
    }
    sockets = dict(zip(people, await _connected(*people.values()), strict=True))

    # When an event for A's supervisors is published
    await sync_to_async(_publish)(supervisors_notice, world.org_a.id, "late-reply")

    # Then A's supervisor and admin receive it, A's agent and B's supervisor do not
    assert await _next_event(sockets["supervisor"], "late-reply")
    assert await _next_event(sockets["admin"], "late-reply")
    assert await nothing_arrives(sockets["agent"])
    assert await nothing_arrives(sockets["other org"])
    # And the change feed agrees with the sockets
    for name, person in people.items():
        got = await sync_to_async(_feed)(person, supervisors_notice.name)
        assert ("late-reply" in got) == (name in ("supervisor", "admin")), name
    for communicator in sockets.values():
        await communicator.disconnect()


async def test_the_supervisors_group_follows_role_changes_on_open_sockets(
    world, supervisors_notice
):
    # Given an agent and a supervisor of A connected
    admin = await sync_to_async(make_person)(world.org_a, Role.ADMIN)
    agent, supervisor = await _connected(world.agent_a1, world.supervisor_a)

    # When an admin makes the agent a supervisor and the supervisor an agent
    await sync_to_async(member_role_change)(
        actor=admin, user_id=world.agent_a1.pk, role=Role.SUPERVISOR
    )
    await sync_to_async(member_role_change)(
        actor=admin, user_id=world.supervisor_a.pk, role=Role.AGENT
    )
    await asyncio.sleep(0.3)
    await sync_to_async(_publish)(supervisors_notice, world.org_a.id, "after-change")

    # Then, without reconnecting, the new supervisor receives supervisors' events and the
    # former one no longer does
    assert await _next_event(agent, "after-change")
    assert await nothing_arrives(supervisor)
    await agent.disconnect()
    await supervisor.disconnect()


async def test_each_receiver_gets_the_payload_its_shaper_made_for_them(world, shaped_notice):
    # Given an agent of shop a1 and a supervisor, both connected
    agent, supervisor = await _connected(world.agent_a1, world.supervisor_a)

    # When one event of a shaped kind is published for shop a1
    await sync_to_async(_publish)(
        shaped_notice, world.org_a.id, "shaped", shop_account_id=world.shop_a1.id
    )

    # Then each socket received the payload shaped for its person
    to_agent = await _next_event(agent, "shaped")
    to_supervisor = await _next_event(supervisor, "shaped")
    assert to_agent["data"]["seen_by"] == f"agent:{world.agent_a1.pk}"
    assert to_supervisor["data"]["seen_by"] == f"supervisor:{world.supervisor_a.pk}"
    # And the change feed gives each of them exactly what their socket got
    feed_agent = await sync_to_async(_feed)(world.agent_a1, shaped_notice.name)
    feed_supervisor = await sync_to_async(_feed)(world.supervisor_a, shaped_notice.name)
    assert feed_agent["shaped"] == to_agent["data"]
    assert feed_supervisor["shaped"] == to_supervisor["data"]
    await agent.disconnect()
    await supervisor.disconnect()
