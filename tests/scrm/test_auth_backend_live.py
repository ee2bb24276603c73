"""``scrm.auth`` on the live paths: a socket of a session signed in under Django's own backend
is accepted (an open tab reconnecting after the release, before any page loads), and the async
sign-in path reads the member with the person (issue 18)."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from inbox.selectors.access import CLOSE_NOT_SIGNED_IN
from scrm.auth import LEGACY_BACKEND, ModelBackend
from tests.inbox.ws_client import close_code, connect, hello

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def test_a_socket_of_a_session_naming_djangos_backend_is_accepted(world):
    # Given a session signed in before the release (it names Django's ModelBackend)
    browser = Client()
    await sync_to_async(browser.force_login)(world.agent_a1, backend=LEGACY_BACKEND)
    key = browser.cookies["sessionid"].value
    # When its tab's socket reconnects before any page request
    socket, connected = await connect(world.agent_a1, session_key=key)
    # Then it is accepted as that person
    assert connected
    assert (await hello(socket))["type"] == "hello"
    await socket.disconnect()


async def test_a_socket_of_a_deactivated_person_is_still_refused(world):
    browser = Client()
    await sync_to_async(browser.force_login)(world.agent_a1, backend=LEGACY_BACKEND)
    key = browser.cookies["sessionid"].value
    world.agent_a1.is_active = False
    await sync_to_async(world.agent_a1.save)(update_fields=["is_active"])
    socket, connected = await connect(world.agent_a1, session_key=key)
    # (the handshake completes so the page learns why: closed as not signed in)
    assert not connected or await close_code(socket) == CLOSE_NOT_SIGNED_IN
    if connected:
        await socket.disconnect()


async def test_the_async_path_reads_the_member_with_the_person(world):
    user = await ModelBackend().aget_user(world.agent_a2.pk)
    assert user.pk == world.agent_a2.pk
    assert user._scrm_member.organisation_id == world.org_a.id
