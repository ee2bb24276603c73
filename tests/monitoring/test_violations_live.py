"""violation.flagged, live: a violation recorded by ``violation_record`` reaches the sockets of
its organisation's supervisors and admins, and no agent's (not even the sender's) and no other
organisation's; a deactivated supervisor's socket is closed before it could."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from django.db import transaction

from inbox.models import Role
from inbox.selectors.access import CLOSE_NOT_ALLOWED
from inbox.services.access import user_deactivate
from tests.factories import make_person
from tests.inbox.ws_client import close_code, first_output, hello_socket, nothing_arrives
from tests.monitoring.violation_builders import violation_of

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def record(world):
    with transaction.atomic():
        return violation_of(world.shop_a1, world.agent_a1)


def flagged(output) -> bool:
    return '"violation.flagged"' in output.get("text", "")


async def test_a_violation_reaches_the_supervisors_and_no_agent(world):
    # Given sockets of organisation A's supervisor and admin, the sending agent, an agent of
    # another shop, and organisation B's supervisor; and a second supervisor deactivated
    admin = await sync_to_async(make_person)(world.org_a, Role.ADMIN)
    leaver = await sync_to_async(make_person)(world.org_a, Role.SUPERVISOR)
    supervisor = await hello_socket(world.supervisor_a)
    admin_socket = await hello_socket(admin)
    sender = await hello_socket(world.agent_a1)
    other_agent = await hello_socket(world.agent_a2)
    other_org = await hello_socket(world.supervisor_b)
    gone = await hello_socket(leaver)
    await sync_to_async(user_deactivate)(actor=admin, user_id=leaver.pk)
    assert await close_code(gone) == CLOSE_NOT_ALLOWED

    # When agent_a1's send matches
    violation = await sync_to_async(record)(world)

    # Then the supervisor and the admin get violation.flagged, without the text
    for socket in (supervisor, admin_socket):
        output = await first_output(socket, flagged, timeout=2)
        assert output is not None
        event = json.loads(output["text"])
        assert event["data"]["id"] == violation.id
        assert event["data"]["actor_id"] == world.agent_a1.pk
        assert "WeChat" not in output["text"]
    # And no agent, and nobody of another organisation
    for socket in (sender, other_agent, other_org):
        assert await first_output(socket, flagged, timeout=0.3) is None
    assert await nothing_arrives(other_org, timeout=0.1)
    for socket in (supervisor, admin_socket, sender, other_agent, other_org):
        await socket.disconnect()
