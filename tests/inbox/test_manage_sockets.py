"""Changes made on the management pages' services reach open inbox sockets at once (when they
commit, not on the socket's periodic re-check)."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async

from inbox.models import Role
from inbox.selectors.access import CLOSE_NOT_ALLOWED, CLOSE_NOT_SIGNED_IN
from inbox.services.people import person_deactivate, person_role_change, person_shops_set
from tests.inbox.test_manage_organisation import update
from tests.inbox.test_websocket_access import gets, publish
from tests.inbox.ws_client import close_code, hello_socket

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio,
    pytest.mark.usefixtures("fast_passwords"),
]


@pytest.fixture(autouse=True)
def _no_timer_rescue(settings):
    settings.SCRM_WS_RECHECK_SECONDS = 3600


async def test_a_role_change_rescopes_the_open_socket_at_once(world, admin):
    socket = await hello_socket(world.supervisor_a)

    # When the admin makes the supervisor an agent of no shop
    await sync_to_async(person_role_change)(
        actor=admin, user_id=world.supervisor_a.pk, role=Role.AGENT
    )
    await asyncio.sleep(0.2)
    await sync_to_async(publish)(world.shop_a1, "conversation.updated", "after-demotion")

    # Then shop a1's events stop reaching them
    assert not await gets(socket, "after-demotion")
    await socket.disconnect()


async def test_shop_access_changes_reach_the_open_socket_at_once(world, admin):
    socket = await hello_socket(world.agent_a1)

    # When the admin gives agent_a1 shop a2 instead of a1
    await sync_to_async(person_shops_set)(
        actor=admin, user_id=world.agent_a1.pk, shop_account_ids=[world.shop_a2.id]
    )
    await asyncio.sleep(0.2)

    # Then a2's events arrive, a1's no longer do
    await sync_to_async(publish)(world.shop_a2, "conversation.updated", "new-shop")
    assert await gets(socket, "new-shop")
    await sync_to_async(publish)(world.shop_a1, "conversation.updated", "old-shop")
    assert not await gets(socket, "old-shop")
    await socket.disconnect()


async def test_deactivation_closes_the_open_socket_at_once(world, admin):
    socket = await hello_socket(world.agent_a1)

    await sync_to_async(person_deactivate)(actor=admin, user_id=world.agent_a1.pk)

    assert await close_code(socket) == CLOSE_NOT_ALLOWED


async def test_requiring_two_factor_closes_sockets_that_skipped_it(world, admin):
    # Given an admin who uses two-factor sign-in, and a supervisor connected without it
    from django_otp.plugins.otp_totp.models import TOTPDevice

    await sync_to_async(TOTPDevice.objects.create)(user=admin, name="phone", confirmed=True)
    supervisor = await hello_socket(world.supervisor_a)
    agent = await hello_socket(world.agent_a1)

    # When the admin requires it on the organisation page
    await sync_to_async(update)(admin, world.org_a, require_two_factor=True)

    # Then the supervisor's socket closes (sign in again, with the code); the agent's stays
    assert await close_code(supervisor) == CLOSE_NOT_SIGNED_IN
    assert await close_code(agent, timeout=0.5) is None
    await agent.disconnect()
