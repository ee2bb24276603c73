"""The outbox's guarantees, written once, held for each kind: marking a conversation read goes
through it as replies do (the reply kind's own crash and recovery tests are
test_delivery_crash.py and test_delivery_recovery.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from inbox.models import Conversation, Message, OutboxAction, OutboxAttempt, ShopAccount
from inbox.platforms.base import PlatformError
from inbox.services.ingestion import shop_api
from inbox.services.outbox import (
    Handler,
    outbox_enqueue,
    outbox_give_up_stale,
    outbox_handler_register,
    registered_kinds,
)
from inbox.tasks import deliver_outbox_action, sweep_outbox
from monitoring.models import AuditEvent
from tests.inbox.builders import pending_reply
from tests.inbox.test_delivery_crash import kill, start_worker
from tests.serve import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

READ_ROUTE = ("POST", "/customer_service/202309/conversations/{conversation_id}/messages/read")


def buyer_wrote(platform, shop: ShopAccount) -> Conversation:
    conv_id, _ = platform.sim.buyer_message(
        shop.platform_shop_id, buyer_user_id="r1", nickname="R", text="anyone there?"
    )
    platform.sim.deliver_webhooks()
    return Conversation.objects.get(platform_conversation_id=conv_id)


def platform_unread(shop: ShopAccount, conversation: Conversation) -> int:
    shop.refresh_from_db()
    page = shop_api(shop).list_conversations()
    return next(
        c.unread_count
        for c in page.items
        if c.conversation_id == conversation.platform_conversation_id
    )


def read_calls(platform) -> int:
    return platform.sim.api_calls[READ_ROUTE]


def read_path(conversation: Conversation) -> str:
    cid = conversation.platform_conversation_id
    return f"/customer_service/202309/conversations/{cid}/messages/read"


def mark_read_action(conversation: Conversation) -> OutboxAction:
    return OutboxAction.objects.filter(kind="mark_read", conversation=conversation).latest("id")


@contextmanager
def tasks_lost() -> Iterator[None]:
    """Tasks queued meanwhile go to a broker no worker reads: as good as lost."""
    from celery import current_app

    current_app.conf.task_always_eager = False
    try:
        yield
    finally:
        current_app.conf.task_always_eager = True
        current_app.control.purge()


# --- mark_read through the outbox ------------------------------------------------------------
def test_mark_read_changes_the_inbox_at_once_and_reaches_the_platform_once(world, platform, api):
    conversation = buyer_wrote(platform, world.shop_a1)
    assert platform_unread(world.shop_a1, conversation) == 1
    # When the agent opens the conversation
    response = api.as_user(world.agent_a1).post(f"/api/v1/conversations/{conversation.id}/read/")
    # Then the inbox reads "read" at once, audited, and the platform was told once
    assert response.status_code == 200
    assert response.json()["unread_count"] == 0
    assert AuditEvent.objects.filter(action="conversation.read").count() == 1
    assert platform_unread(world.shop_a1, conversation) == 0
    assert read_calls(platform) == 1
    action = mark_read_action(conversation)
    assert action.state == "sent"
    assert list(action.attempts.values_list("outcome", flat=True)) == ["sent"]


def test_reading_again_before_the_platform_was_told_calls_it_once(world, platform, api):
    conversation = buyer_wrote(platform, world.shop_a1)
    agent = api.as_user(world.agent_a1)
    # Given two reads while the first one's task has not run yet
    with tasks_lost():
        for _ in range(2):
            assert agent.post(f"/api/v1/conversations/{conversation.id}/read/").status_code == 200
    # Then they share one action, and the platform is told once
    action = mark_read_action(conversation)
    assert OutboxAction.objects.filter(kind="mark_read").count() == 1
    assert deliver_outbox_action.apply(args=[action.id]).get() == "sent"
    assert read_calls(platform) == 1
    assert platform_unread(world.shop_a1, conversation) == 0


def test_a_failing_platform_never_holds_the_request_and_mark_read_is_retried(world, platform, api):
    conversation = buyer_wrote(platform, world.shop_a1)
    platform.sim.set_fault(read_path(conversation), "5xx", count=100)
    # When the agent reads the conversation while the platform fails
    started = time.monotonic()
    with tasks_lost():  # the worker's turn comes after the answer, as in services mode
        response = api.as_user(world.agent_a1).post(
            f"/api/v1/conversations/{conversation.id}/read/"
        )
    # Then the answer does not wait for the platform, and the inbox reads "read"
    assert response.status_code == 200
    assert response.json()["unread_count"] == 0
    assert time.monotonic() - started < 2
    # And the worker's attempt fails, to be retried with its next attempt recorded
    action = mark_read_action(conversation)
    before = timezone.now()
    with pytest.raises(PlatformError):
        deliver_outbox_action(action.id)  # called directly: the retry re-raises, not queues
    action.refresh_from_db()
    assert action.state == "sending"
    assert action.next_attempt_at > before
    assert list(action.attempts.values_list("outcome", flat=True)) == ["retry"]
    assert platform_unread(world.shop_a1, conversation) == 1
    # When the platform is back, the retry tells it
    platform.sim.clear_faults()
    assert deliver_outbox_action.apply(args=[action.id]).get() == "sent"
    assert platform_unread(world.shop_a1, conversation) == 0
    conversation.refresh_from_db()
    assert conversation.unread_count == 0


def test_a_mark_read_the_platform_refuses_for_good_fails_in_the_audit_log(world, platform, api):
    conversation = buyer_wrote(platform, world.shop_a1)
    with tasks_lost():
        api.as_user(world.agent_a1).post(f"/api/v1/conversations/{conversation.id}/read/")
    # Given the shop lost its credentials before the worker's turn
    ShopAccount.objects.filter(id=world.shop_a1.id).update(credentials={})
    action = mark_read_action(conversation)
    # When the worker runs it, it fails at once, recorded, without undoing the inbox's read
    assert deliver_outbox_action.apply(args=[action.id]).get() == "failed"
    action.refresh_from_db()
    assert action.state == "failed"
    assert "authorisation" in action.failure_reason
    event = AuditEvent.objects.get(action="conversation.read_not_synced")
    assert event.data == {"conversation_id": conversation.id}
    conversation.refresh_from_db()
    assert conversation.unread_count == 0


# --- the generic guarantees, for mark_read -------------------------------------------------
def test_a_worker_killed_during_mark_read_is_not_repeated_while_its_lease_holds(
    world, platform, api
):
    conversation = buyer_wrote(platform, world.shop_a1)
    with tasks_lost():
        api.as_user(world.agent_a1).post(f"/api/v1/conversations/{conversation.id}/read/")
    action = mark_read_action(conversation)
    platform.sim.set_fault(read_path(conversation), "delay_after", delay=30)  # act, answer late
    worker = start_worker(action.id, platform.server.base_url)
    try:
        # When the platform has acted but the worker has not heard back, it dies
        assert wait_until(lambda: read_calls(platform) == 1), "worker never called"
        kill(worker)
    finally:
        if worker.poll() is None:
            kill(worker)
    platform.sim.clear_faults()
    action.refresh_from_db()
    assert action.state == "sending"
    # Then a redelivered task finds the lease held and does nothing
    assert deliver_outbox_action.apply(args=[action.id]).get() == "in_flight"
    assert read_calls(platform) == 1
    # And once the lease has run out, the next attempt finishes the job (reading twice is
    # harmless, so this kind repeats the call instead of looking first)
    OutboxAttempt.objects.filter(action=action).update(
        started_at=timezone.now() - timedelta(seconds=settings.SCRM_DELIVERY_LEASE_SECONDS + 1)
    )
    assert deliver_outbox_action.apply(args=[action.id]).get() == "sent"
    assert list(action.attempts.order_by("id").values_list("outcome", flat=True)) == ["", "sent"]
    assert platform_unread(world.shop_a1, conversation) == 0


def test_one_sweep_takes_up_every_kind_left_behind(world, platform, api, settings):
    settings.SCRM_DELIVERY_SWEEP_GRACE_SECONDS = 0.2
    shop_id = world.shop_a1.platform_shop_id
    conversation = buyer_wrote(platform, world.shop_a1)
    # Given a mark-read whose task the broker lost, and a reply in the same state
    with tasks_lost():
        api.as_user(world.agent_a1).post(f"/api/v1/conversations/{conversation.id}/read/")
    reply = pending_reply(conversation, "On its way", key="sweep-both")
    assert read_calls(platform) == 0
    # When the sweep runs a moment later
    time.sleep(0.4)
    assert sweep_outbox.apply().get() == 2
    # Then both went out, once
    assert mark_read_action(conversation).state == "sent"
    assert platform_unread(world.shop_a1, conversation) == 0
    assert Message.objects.get(id=reply.id).delivery_state == "sent"
    assert len(platform.sim.sent_messages(shop_id)) == 1
    assert read_calls(platform) == 1
    # And the next run finds nothing left
    assert sweep_outbox.apply().get() == 0


def test_a_mark_read_open_for_a_day_is_given_up_visibly(world, platform, api):
    conversation = buyer_wrote(platform, world.shop_a1)
    with tasks_lost():
        api.as_user(world.agent_a1).post(f"/api/v1/conversations/{conversation.id}/read/")
    action = mark_read_action(conversation)
    a_day_ago = timezone.now() - timedelta(hours=25)
    OutboxAction.objects.filter(id=action.id).update(created_at=a_day_ago, opened_at=a_day_ago)
    assert outbox_give_up_stale() == 1
    action.refresh_from_db()
    assert (action.state, action.failure_reason) == (
        "failed",
        "Not marked read on the platform within a day.",
    )
    assert AuditEvent.objects.filter(action="conversation.read_not_synced").count() == 1


# --- kinds -----------------------------------------------------------------------------------
def test_the_inbox_kinds_are_registered():
    assert {"reply", "mark_read"} <= set(registered_kinds())


def test_a_kind_that_could_act_twice_must_look_before_a_retry():
    class Blind(Handler):
        kind = "blind_send"

        def perform(self, action, prepared):
            return ""

    with pytest.raises(ImproperlyConfigured):
        outbox_handler_register(Blind())
    assert "blind_send" not in registered_kinds()


def test_an_unknown_kind_is_refused_before_anything_is_stored(world):
    with pytest.raises(ImproperlyConfigured):
        outbox_enqueue(kind="no_such_kind", organisation_id=world.org_a.id)
    assert not OutboxAction.objects.exists()


def test_an_operator_sees_where_each_action_stands_read_only(world, platform, api, client):
    from tests.factories import UserFactory

    # Given a mark-read the platform refused for good (the shop lost its credentials)
    conversation = buyer_wrote(platform, world.shop_a1)
    with tasks_lost():
        api.as_user(world.agent_a1).post(f"/api/v1/conversations/{conversation.id}/read/")
    ShopAccount.objects.filter(id=world.shop_a1.id).update(credentials={})
    action = mark_read_action(conversation)
    deliver_outbox_action.apply(args=[action.id]).get()
    # When an operator lists the failed actions in Django admin
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    page = client.get("/admin/inbox/outboxaction/", {"state__exact": "failed"}).content.decode()
    # Then the action is there with its kind and the reason it failed
    assert f"/admin/inbox/outboxaction/{action.id}/change/" in page
    assert "mark_read" in page and "authorisation" in page
    # And nothing can be changed or added from there
    assert client.post(f"/admin/inbox/outboxaction/{action.id}/change/", {}).status_code == 403
    assert client.get("/admin/inbox/outboxaction/add/").status_code == 403
    # And an agent is not let in at all
    client.force_login(world.agent_a1)
    assert client.get("/admin/inbox/outboxaction/").status_code == 302
