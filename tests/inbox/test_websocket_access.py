"""Access that ends at once: deactivation, role changes, membership changes and ended sessions
close or re-scope open sockets when the change commits (not on the client's next ping), and
every event kind reaches only the people of its shop."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from inbox.models import Role
from inbox.selectors.access import CLOSE_NOT_ALLOWED, CLOSE_NOT_SIGNED_IN
from inbox.services.access import access_changed_notify, member_role_change, user_deactivate
from scrm.events import EVENT_KINDS, Audience, UnknownEventKind, event_publish
from tests.factories import make_person
from tests.inbox.event_payloads import marked, quoted
from tests.inbox.ws_client import close_code, connect, first_output, hello, nothing_arrives

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture(autouse=True)
def _no_timer_rescue(settings):
    """The periodic re-check must not be what ends access in these tests: "at once" means the
    change itself did it."""
    settings.SCRM_WS_RECHECK_SECONDS = 3600


def publish(shop, kind: str, marker: str):
    from django.db import transaction

    with transaction.atomic():
        return event_publish(
            organisation_id=shop.organisation_id,
            shop_account_id=shop.id,
            type=kind,
            data=marked(kind, marker) if kind in EVENT_KINDS else {"marker": marker},
        )


async def gets(communicator, marker: str) -> bool:
    """Whether an event with ``marker`` arrives within a second (other messages skipped)."""
    return bool(await first_output(communicator, lambda o: quoted(marker) in o.get("text", "")))


async def test_every_event_kind_reaches_its_shop_and_nobody_else(world):
    # Given agent_a1 (shop a1), an agent of another shop, an agent and a supervisor of another
    # organisation, and a second agent of a1 who is deactivated while connected
    leaver = await sync_to_async(make_person)(world.org_a, Role.AGENT, [world.shop_a1])
    admin = await sync_to_async(make_person)(world.org_a, Role.ADMIN)
    member, ok1 = await connect(world.agent_a1)
    other_shop, ok2 = await connect(world.agent_a2)
    other_org_agent, ok3 = await connect(world.agent_b)
    other_org_supervisor, ok4 = await connect(world.supervisor_b)
    deactivated, ok5 = await connect(leaver)
    assert ok1 and ok2 and ok3 and ok4 and ok5
    outsiders = [other_shop, other_org_agent, other_org_supervisor]
    for c in [member, *outsiders, deactivated]:
        await hello(c)
    await sync_to_async(user_deactivate)(actor=admin, user_id=leaver.pk)
    assert await close_code(deactivated) == CLOSE_NOT_ALLOWED

    # When an event of every registered kind is published for shop a1
    assert EVENT_KINDS, "the registry is empty"
    shop_kinds = [k.name for k in EVENT_KINDS.values() if k.audience == Audience.SHOP]
    assert shop_kinds, "no shop kinds (supervisors' kinds: tests/scrm/test_events.py)"
    for kind in shop_kinds:
        await sync_to_async(publish)(world.shop_a1, kind, f"m-{kind}")

        # Then agent_a1 gets it, and nobody outside shop a1 does
        assert await gets(member, f"m-{kind}"), kind
        for outsider in outsiders:
            assert await nothing_arrives(outsider, timeout=0.2), kind
        assert deactivated.output_queue.empty(), kind
    for c in [member, *outsiders]:
        await c.disconnect()


async def test_an_unregistered_event_kind_is_refused(world):
    with pytest.raises(UnknownEventKind):
        await sync_to_async(publish)(world.shop_a1, "buyer.secret", "x")


async def test_deactivating_a_user_closes_their_socket_at_once(world):
    # Given agent_a1 connected and receiving shop a1's events
    admin = await sync_to_async(make_person)(world.org_a, Role.ADMIN)
    socket, ok = await connect(world.agent_a1)
    assert ok
    await hello(socket)

    # When an admin deactivates them (no ping from the client)
    await sync_to_async(user_deactivate)(actor=admin, user_id=world.agent_a1.pk)

    # Then the socket is closed with "no longer allowed", and the deactivation is audited
    assert await close_code(socket) == CLOSE_NOT_ALLOWED
    from monitoring.models import AuditEvent

    assert await sync_to_async(
        AuditEvent.objects.filter(action="user.deactivated", actor_id=admin.pk).exists
    )()


def _admin_client():
    from django.contrib.auth import get_user_model

    operator = get_user_model().objects.create_superuser("operator", "op@example.com", "pw-x-1")
    client = Client()
    client.force_login(operator)
    return client


def _post_user_change(user, **changes) -> int:
    """Save the Django admin's user change form as a browser would, with ``changes``."""
    client = _admin_client()
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        "initial-date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "initial-date_joined_1": user.date_joined.strftime("%H:%M:%S"),
    }
    data.update(changes)
    data = {k: v for k, v in data.items() if v is not None}
    return client.post(f"/admin/auth/user/{user.pk}/change/", data).status_code


async def test_deactivating_in_the_django_admin_closes_the_socket_at_once(world):
    socket, ok = await connect(world.agent_a1)
    assert ok
    await hello(socket)

    # When an operator unticks "active" on the admin's user page
    status = await sync_to_async(_post_user_change)(world.agent_a1, is_active=None)

    # Then the page saved, and the open socket closed at once
    assert status == 302
    assert await close_code(socket) == CLOSE_NOT_ALLOWED
    await sync_to_async(world.agent_a1.refresh_from_db)()
    assert not world.agent_a1.is_active


async def test_a_supervisor_demoted_to_agent_without_shops_stops_receiving_at_once(world):
    # Given supervisor_a receiving shop a1's events
    admin = await sync_to_async(make_person)(world.org_a, Role.ADMIN)
    socket, ok = await connect(world.supervisor_a)
    assert ok
    await hello(socket)
    await sync_to_async(publish)(world.shop_a1, "conversation.updated", "before")
    assert await gets(socket, "before")

    # When an admin makes them an agent (they hold no shop memberships)
    await sync_to_async(member_role_change)(
        actor=admin, user_id=world.supervisor_a.pk, role=Role.AGENT
    )
    await asyncio.sleep(0.2)
    await sync_to_async(publish)(world.shop_a1, "conversation.updated", "after")

    # Then shop events stop at once, while the socket itself stays open (its user may still
    # use the inbox, with no shops)
    assert not await gets(socket, "after")
    await socket.send_json_to({"type": "ping"})
    assert (await socket.receive_json_from(timeout=2))["type"] == "pong"
    await socket.disconnect()


def _post_member_role(user, role: str) -> int:
    from inbox.models import Member

    member = Member.objects.get(user=user)
    client = _admin_client()
    data = {
        "user": str(user.pk),
        "organisation": str(member.organisation_id),
        "role": role,
        "time_zone": member.time_zone,
        "display_name": member.display_name,
    }
    return client.post(f"/admin/inbox/member/{member.pk}/change/", data).status_code


async def test_a_role_change_in_the_django_admin_rescopes_at_once(world):
    socket, ok = await connect(world.supervisor_a)
    assert ok
    await hello(socket)

    status = await sync_to_async(_post_member_role)(world.supervisor_a, Role.AGENT)
    await asyncio.sleep(0.2)
    await sync_to_async(publish)(world.shop_a2, "conversation.updated", "after-admin")

    assert status == 302
    assert not await gets(socket, "after-admin")
    from monitoring.models import AuditEvent

    assert await sync_to_async(
        AuditEvent.objects.filter(action="member.role_changed", data__to=Role.AGENT).exists
    )()
    await socket.disconnect()


async def test_an_agent_given_a_shop_in_the_admin_receives_it_at_once(world):
    # Given agent_a1 (shop a1 only) connected
    socket, ok = await connect(world.agent_a1)
    assert ok
    await hello(socket)

    # When an operator adds them to shop a2 on the admin's membership page
    def add():
        return (
            _admin_client()
            .post(
                "/admin/inbox/shopmembership/add/",
                {"user": str(world.agent_a1.pk), "shop_account": str(world.shop_a2.pk)},
            )
            .status_code
        )

    assert await sync_to_async(add)() == 302
    await asyncio.sleep(0.2)
    await sync_to_async(publish)(world.shop_a2, "conversation.updated", "new-shop")

    # Then shop a2's events reach them without reconnecting
    assert await gets(socket, "new-shop")
    await socket.disconnect()


async def test_a_deleted_session_closes_its_socket_on_notify(world):
    # Given agent_a1 connected with a session (as "log out everywhere" ends them all)
    from importlib import import_module

    from django.conf import settings

    from tests.inbox.ws_client import session_cookie

    key = await session_cookie(world.agent_a1)
    socket, ok = await connect(world.agent_a1, session_key=key)
    assert ok
    await hello(socket)

    # When the session is deleted and the user's sockets are told
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=key)
    await sync_to_async(store.delete)()
    await sync_to_async(access_changed_notify)(user_ids=[world.agent_a1.pk])

    # Then the socket closes as "not signed in"
    assert await close_code(socket) == CLOSE_NOT_SIGNED_IN


async def test_a_password_change_closes_the_socket_on_notify(world):
    socket, ok = await connect(world.agent_a1)
    assert ok
    await hello(socket)

    def change_password():
        world.agent_a1.set_password("a-new-password-77")
        world.agent_a1.save()
        access_changed_notify(user_ids=[world.agent_a1.pk])

    await sync_to_async(change_password)()

    assert await close_code(socket) == CLOSE_NOT_SIGNED_IN


async def test_a_change_made_outside_the_app_is_caught_by_the_periodic_recheck(world, settings):
    # Given sockets re-checking every 0.3 s, and agent_a1 connected
    settings.SCRM_WS_RECHECK_SECONDS = 0.3
    socket, ok = await connect(world.agent_a1)
    assert ok
    await hello(socket)

    # When the user is deactivated behind the app's back (no service, no notify)
    from django.contrib.auth import get_user_model

    await sync_to_async(get_user_model().objects.filter(pk=world.agent_a1.pk).update)(
        is_active=False
    )

    # Then the timer's re-check closes the socket
    assert await close_code(socket, timeout=3) == CLOSE_NOT_ALLOWED


async def test_only_admins_change_roles_or_deactivate(world):
    from scrm.api import Forbidden, ServiceError

    admin = await sync_to_async(make_person)(world.org_a, Role.ADMIN)
    with pytest.raises(Forbidden):
        await sync_to_async(user_deactivate)(actor=world.supervisor_a, user_id=world.agent_a1.pk)
    with pytest.raises(Forbidden):
        await sync_to_async(member_role_change)(
            actor=world.supervisor_a, user_id=world.agent_a1.pk, role=Role.ADMIN
        )
    with pytest.raises(ServiceError):  # another organisation's person: not found
        await sync_to_async(user_deactivate)(actor=admin, user_id=world.agent_b.pk)
    with pytest.raises(ServiceError):  # nor their own role (an admin always remains)
        await sync_to_async(member_role_change)(actor=admin, user_id=admin.pk, role=Role.AGENT)
    with pytest.raises(ServiceError):  # nor deactivate themselves
        await sync_to_async(user_deactivate)(actor=admin, user_id=admin.pk)


async def test_every_event_kind_is_documented_and_every_documented_kind_registered():
    import re
    from pathlib import Path

    api = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text()
    section = api.split("## Websocket `/ws/inbox/`", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([a-z_.]+)` \|", section, flags=re.MULTILINE))
    assert documented == set(EVENT_KINDS)


async def test_a_supervisor_who_skipped_a_required_second_factor_gets_no_socket(world):
    # Given organisation A requires two-factor sign-in, and supervisor_a has a session that
    # never passed it (as the pages would send to the set-up page)
    from inbox.models import Organisation

    await sync_to_async(Organisation.objects.filter(pk=world.org_a.pk).update)(
        require_two_factor=True
    )
    # When the supervisor opens the inbox socket
    socket, ok = await connect(world.supervisor_a)
    # Then it closes as "not signed in", before any shop event
    assert await close_code(socket) == CLOSE_NOT_SIGNED_IN
    # And an agent of the same organisation (not required to use it) keeps theirs
    agent, ok = await connect(world.agent_a1)
    assert ok
    assert (await hello(agent))["type"] == "hello"
    await agent.disconnect()


async def test_requiring_two_factor_in_the_admin_closes_unverified_sockets_at_once(world):
    # Given supervisor_a's socket from a session that never gave a second factor
    socket, ok = await connect(world.supervisor_a)
    assert ok
    await hello(socket)
    # When an operator ticks "require two-factor" on the organisation in the Django admin
    from django.contrib.auth import get_user_model

    def tick() -> int:
        root = get_user_model().objects.create_superuser("root2fa", "r@example.com", "pw-2fa-root")
        client = Client()
        client.force_login(root)
        org = world.org_a
        return client.post(
            f"/admin/inbox/organisation/{org.pk}/change/",
            {
                "name": org.name,
                "slug": org.slug,
                "time_zone": org.time_zone,
                "language": org.language,
                "require_two_factor": "on",
            },
        ).status_code

    status = await sync_to_async(tick)()
    assert status == 302
    # Then the socket closes as "not signed in" without waiting for the periodic re-check
    assert await close_code(socket) == CLOSE_NOT_SIGNED_IN


async def test_signing_out_closes_the_sessions_sockets_at_once(world):
    # Given agent_a1 signed in, with the inbox open in a tab
    browser = Client()
    await sync_to_async(browser.force_login)(world.agent_a1)
    key = browser.cookies["sessionid"].value
    socket, ok = await connect(world.agent_a1, session_key=key)
    assert ok
    await hello(socket)
    # When they sign out in another tab
    response = await sync_to_async(browser.post)("/logout/")
    assert response.status_code == 302
    # Then the socket closes as "not signed in"
    assert await close_code(socket) == CLOSE_NOT_SIGNED_IN
